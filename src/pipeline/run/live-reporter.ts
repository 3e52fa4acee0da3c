import {createLogUpdate} from 'log-update'
import {formatGpus} from './gpus.js'
import {formatSeconds, type Reporter} from './progress.js'

/** On a terminal: permanent lines above, and a live line per running instance with its elapsed time. */
export class LiveReporter implements Reporter {
  private readonly running = new Map<string, {since: number; handle?: string; gpus?: string[]}>()
  private readonly live = createLogUpdate(process.stdout)
  private readonly timer = setInterval(() => this.render(), 1000)

  line(text: string): void {
    this.live.clear()
    process.stdout.write(`${text}\n`)
    this.render()
  }
  started(id: string, gpus?: string[]): void {
    this.running.set(id, {since: Date.now(), gpus: gpus?.length ? gpus : undefined})
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
    const lines = [...this.running].map(([id, {since, handle, gpus}]) => {
      const where = [handle, gpus && formatGpus(gpus)].filter(Boolean).join(', ')
      return `  ▸ ${id}  ${formatSeconds(now - since)}${where ? `  (${where})` : ''}`
    })
    if (lines.length === 0) this.live.clear()
    else this.live(lines.join('\n'))
  }
}
