import {createLogUpdate} from 'log-update'

/** What a run tells the user as it goes. */
export interface Reporter {
  /** A permanent line (an instance finished, was skipped, restored, failed). */
  line(text: string): void
  started(id: string): void
  handle(id: string, handle: string): void
  stopped(id: string): void
  close(): void
}

export function formatSeconds(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000)
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
}

/** Plain lines, for logs and pipes. */
export class PlainReporter implements Reporter {
  constructor(private readonly write: (text: string) => void) {}
  line(text: string): void {
    this.write(text)
  }
  /** Said once the executor has a handle for it, e.g. `running train@... (pid 123)`. */
  started(): void {}
  handle(id: string, handle: string): void {
    this.write(`running ${id} (${handle})`)
  }
  stopped(): void {}
  close(): void {}
}

/** On a terminal: permanent lines above, and a live line per running instance with its elapsed time. */
export class LiveReporter implements Reporter {
  private readonly running = new Map<string, {since: number; handle?: string}>()
  private readonly live = createLogUpdate(process.stdout)
  private readonly timer = setInterval(() => this.render(), 1000)

  line(text: string): void {
    this.live.clear()
    process.stdout.write(`${text}\n`)
    this.render()
  }
  started(id: string): void {
    this.running.set(id, {since: Date.now()})
    this.render()
  }
  handle(id: string, handle: string): void {
    const entry = this.running.get(id)
    if (entry) entry.handle = handle
    this.render()
  }
  stopped(id: string): void {
    this.running.delete(id)
    this.render()
  }
  close(): void {
    clearInterval(this.timer)
    this.live.clear()
    this.live.done()
  }
  private render(): void {
    const now = Date.now()
    const lines = [...this.running].map(([id, {since, handle}]) => `  ▸ ${id}  ${formatSeconds(now - since)}${handle ? `  (${handle})` : ''}`)
    if (lines.length === 0) this.live.clear()
    else this.live(lines.join('\n'))
  }
}
