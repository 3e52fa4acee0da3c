import {formatGpus} from './gpus.js'

/** What a run tells the user as it goes. */
export interface Reporter {
  /** A permanent line (an instance finished, was skipped, restored, failed). */
  line(text: string): void
  /** `gpus`: the devices the instance holds, when the engine placed it on GPUs. */
  started(id: string, gpus?: string[]): void
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
  private readonly gpus = new Map<string, string[]>()
  constructor(private readonly write: (text: string) => void) {}
  line(text: string): void {
    this.write(text)
  }
  started(id: string, gpus?: string[]): void {
    if (gpus?.length) this.gpus.set(id, gpus)
  }
  /** Said once the executor has a handle for it, e.g. `running train@... (pid 123, GPU 0)`. */
  handle(id: string, handle: string): void {
    const gpus = this.gpus.get(id)
    this.write(`running ${id} (${handle}${gpus ? `, ${formatGpus(gpus)}` : ''})`)
    this.gpus.delete(id)
  }
  stopped(id: string): void {
    this.gpus.delete(id)
  }
  close(): void {}
}
