/** Keeps the last lines of a byte stream without holding the whole stream in memory. */
export class LineTail {
  private lines: string[] = []
  private partial = ''

  constructor(private readonly limit: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n')
    this.partial = parts.pop() ?? ''
    this.lines.push(...parts)
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit)
  }

  text(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial]
    return all.slice(-this.limit).join('\n')
  }
}
