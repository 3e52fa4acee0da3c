import type {Instance} from '../graph/graph.js'

export type Outcome = 'ran' | 'restored' | 'up to date' | 'failed' | 'not run'

/** An instance left out because an upstream instance did not succeed. */
export interface Skipped {
  instance: Instance
  /** The upstream instance that failed or was itself not run. */
  cause: Instance
}

/**
 * The order instances start in. An instance enters the ready queue once every upstream instance has succeeded; an
 * instance with an upstream that failed or was not run is not run either, and neither is its downstream. The ready
 * queue is kept in graph order, so of several ready instances the one declared first starts first.
 */
export class Scheduler {
  readonly outcomes = new Map<string, Outcome>()
  private readonly position = new Map<string, number>()
  private readonly upstreamLeft = new Map<string, number>()
  private readonly ready: Instance[] = []
  private readonly started = new Set<string>()

  constructor(private readonly instances: readonly Instance[]) {
    instances.forEach((instance, index) => {
      this.position.set(instance.id, index)
      this.upstreamLeft.set(instance.id, instance.upstream.length)
      if (instance.upstream.length === 0) this.ready.push(instance)
    })
  }

  /** Takes the first ready instance that `fits` accepts off the queue, or undefined when none does. */
  take(fits: (instance: Instance) => boolean = () => true): Instance | undefined {
    const index = this.ready.findIndex(fits)
    if (index < 0) return undefined
    const [instance] = this.ready.splice(index, 1)
    this.started.add(instance.id)
    return instance
  }

  /** Records how a started instance ended; returns the instances that will not run because of it. */
  settle(instance: Instance, outcome: Outcome): Skipped[] {
    this.outcomes.set(instance.id, outcome)
    const succeeded = outcome !== 'failed' && outcome !== 'not run'
    const skipped: Skipped[] = []
    for (const child of instance.downstream) {
      if (this.outcomes.has(child.id)) continue
      if (succeeded) {
        const left = this.upstreamLeft.get(child.id)! - 1
        this.upstreamLeft.set(child.id, left)
        if (left === 0) this.enqueue(child)
      } else {
        skipped.push({instance: child, cause: instance}, ...this.settle(child, 'not run'))
      }
    }
    return skipped
  }

  /** A cancelled run: every instance not yet started is not run. */
  cancel(): void {
    this.ready.length = 0
    for (const instance of this.instances) {
      if (!this.started.has(instance.id) && !this.outcomes.has(instance.id)) this.outcomes.set(instance.id, 'not run')
    }
  }

  private enqueue(instance: Instance): void {
    const position = this.position.get(instance.id)!
    const index = this.ready.findIndex((other) => this.position.get(other.id)! > position)
    this.ready.splice(index < 0 ? this.ready.length : index, 0, instance)
  }
}
