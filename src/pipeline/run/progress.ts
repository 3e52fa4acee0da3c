/** What a run tells the user as it goes. */
export interface Reporter {
  /** A permanent line (an instance finished, was skipped, restored, failed). */
  line(text: string): void
  started(id: string): void
  handle(id: string, handle: string): void
  /** The latest progress line of a running instance (see stage-progress.ts). */
  progress(id: string, text: string): void
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
  /** Every progress line, prefixed with its instance, so interleaved instances stay apart in a log. */
  progress(id: string, text: string): void {
    this.write(`${id}: ${text}`)
  }
  stopped(): void {}
  close(): void {}
}
