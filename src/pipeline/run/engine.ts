import type {Cache} from '../state/cache.js'
import type {Executor} from '../executors/executor.js'
import type {Graph, Instance} from '../graph/graph.js'
import {InstanceFailure, InstanceRunner} from './instance-runner.js'
import {GpuPlacement, type GpuPool} from './gpus.js'
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
  /** GPUs to place instances on, for an executor that runs jobs on this machine; undefined leaves placement to it. */
  gpus?: GpuPool
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
 * running the rest through `executor`, at most `jobs` at a time, and an instance that asks for GPUs only when enough
 * of `gpus` are free. Only the coordinator writes the cache index.
 */
export async function runGraph(graph: Graph, cache: Cache, options: RunOptions): Promise<RunSummary> {
  const {reporter, signal} = options
  const runner = new InstanceRunner(graph.pipeline.root, cache, options)
  const scheduler = new Scheduler(graph.instances)
  const placement = options.gpus && new GpuPlacement(options.gpus, (line) => reporter.line(line))
  const active = new Map<string, Promise<void>>()

  const bringUpToDate = async (instance: Instance): Promise<void> => {
    let outcome: Outcome
    let gpus: string[] | undefined
    try {
      // Taken before the first await, in the same turn as the scheduler's check that they are free.
      gpus = placement?.take(instance)
      outcome = await runner.settle(instance, gpus)
    } catch (error) {
      // A command stopped because the run was cancelled did not fail: it was not run to the end.
      outcome = signal.aborted ? 'not run' : 'failed'
      if (!signal.aborted) reporter.line(`✗ failed ${instance.id}: ${describeFailure(error)}`)
    } finally {
      if (gpus) placement!.release(gpus)
    }
    for (const {instance: skipped, cause} of scheduler.settle(instance, outcome)) {
      if (!signal.aborted) reporter.line(`- not run ${skipped.id}: upstream ${cause.id} did not succeed`)
    }
  }

  for (;;) {
    while (active.size < options.jobs && !signal.aborted) {
      const instance = scheduler.take((candidate) => placement?.fits(candidate) ?? true)
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
