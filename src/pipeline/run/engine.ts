import type {Cache} from '../state/cache.js'
import type {Executor} from '../executors/executor.js'
import type {Graph, Instance} from '../graph/graph.js'
import {InstanceFailure, InstanceRunner} from './instance-runner.js'
import type {Reporter} from './progress.js'
import {Scheduler, type Outcome} from './scheduler.js'

export interface RunOptions {
  executor: Executor
  /** How many instances may be in progress at once. */
  jobs: number
  /** Run every instance even when its cached result is intact. */
  force: boolean
  reporter: Reporter
  /** Aborting stops running commands and starts no new ones; nothing is recorded for what was stopped. */
  signal: AbortSignal
}

export interface RunSummary {
  ran: string[]
  restored: string[]
  upToDate: string[]
  failed: string[]
  /** Not attempted: an upstream instance failed, or the run was cancelled. */
  notRun: string[]
}

/**
 * The coordinator: walks the graph in dependency order, skipping what is cached, restoring what was deleted and
 * running the rest through `executor`, at most `jobs` at a time. Only the coordinator writes the cache index.
 */
export async function runGraph(graph: Graph, cache: Cache, options: RunOptions): Promise<RunSummary> {
  const {reporter, signal} = options
  const runner = new InstanceRunner(graph.pipeline.root, cache, options)
  const scheduler = new Scheduler(graph.instances)
  const active = new Map<string, Promise<void>>()

  const bringUpToDate = async (instance: Instance): Promise<void> => {
    let outcome: Outcome
    try {
      outcome = await runner.settle(instance)
    } catch (error) {
      // A command stopped because the run was cancelled did not fail: it was not run to the end.
      outcome = signal.aborted ? 'not run' : 'failed'
      if (!signal.aborted) reporter.line(`✗ failed ${instance.id}: ${describeFailure(error)}`)
    }
    for (const {instance: skipped, cause} of scheduler.settle(instance, outcome)) {
      if (!signal.aborted) reporter.line(`- not run ${skipped.id}: upstream ${cause.id} did not succeed`)
    }
  }

  for (;;) {
    while (active.size < options.jobs && !signal.aborted) {
      const instance = scheduler.take()
      if (instance === undefined) break
      active.set(instance.id, bringUpToDate(instance).finally(() => active.delete(instance.id)))
    }
    if (signal.aborted) scheduler.cancel()
    if (active.size === 0) break
    await Promise.race(active.values())
  }
  return summarize(graph.instances, scheduler.outcomes)
}

function describeFailure(error: unknown): string {
  if (error instanceof InstanceFailure) return `${error.message}${error.details ? `\n${error.details}` : ''}`
  return String(error instanceof Error ? error.message : error)
}

function summarize(instances: readonly Instance[], outcomes: ReadonlyMap<string, Outcome>): RunSummary {
  const summary: RunSummary = {ran: [], restored: [], upToDate: [], failed: [], notRun: []}
  const lists: Record<Outcome, string[]> = {ran: summary.ran, restored: summary.restored, 'up to date': summary.upToDate, failed: summary.failed, 'not run': summary.notRun}
  for (const instance of instances) lists[outcomes.get(instance.id) ?? 'not run'].push(instance.id)
  return summary
}
