import {createLogUpdate} from 'log-update'
import {formatGpus} from './gpus.js'
import {formatSeconds, type Reporter} from './progress.js'

const MIN_RENDER_INTERVAL_MS = 200

interface RunningInstance {
  since: number
  handle?: string
  gpus?: string[]
  progress?: string
}

/**
 * On a terminal: permanent lines above, and a live line per running instance with its elapsed time and its latest
 * progress line.
 */
export class LiveReporter implements Reporter {
  private readonly running = new Map<string, RunningInstance>()
  private readonly live = createLogUpdate(process.stdout)
  private readonly timer = setInterval(() => this.render(), 1000)
  private renderedAt = 0

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
  progress(id: string, text: string): void {
    const entry = this.running.get(id)
    if (entry) entry.progress = text
    // A stage may report many lines a second; the timer shows the latest one at the latest a second later.
    if (Date.now() - this.renderedAt >= MIN_RENDER_INTERVAL_MS) this.render()
  }
  stopped(id: string): void {
    const progress = this.running.get(id)?.progress
    this.running.delete(id)
    // The last progress line (a final epoch's scores, say) stays on screen, in the form plain output uses.
    if (progress) this.line(`${id}: ${progress}`)
    else this.render()
  }
  close(): void {
    clearInterval(this.timer)
    this.live.clear()
    this.live.done()
  }
  private render(): void {
    const now = Date.now()
    this.renderedAt = now
    // One screen line per instance: a wrapped line would leave fragments behind when the display redraws.
    const columns = process.stdout.columns || 120
    const lines = [...this.running].map(([id, {since, handle, gpus, progress}]) => {
      const where = [handle, gpus && formatGpus(gpus)].filter(Boolean).join(', ')
      const line = `  ▸ ${id}  ${formatSeconds(now - since)}${where ? `  (${where})` : ''}${progress ? `  ${progress}` : ''}`
      return line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line
    })
    if (lines.length === 0) this.live.clear()
    else this.live(lines.join('\n'))
  }
}
