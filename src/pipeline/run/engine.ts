import {mkdir, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {Assessor, formatReasons, type Assessment} from './assess.js'
import type {Cache, OutRecord} from '../state/cache.js'
import type {Executor, JobResult} from '../executors/executor.js'
import type {Graph, Instance} from '../graph/graph.js'
import {Hasher} from '../state/hash.js'
import {formatSeconds, type Reporter} from './progress.js'

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

type Outcome = 'ran' | 'restored' | 'up to date' | 'failed'

class InstanceFailure extends Error {
  constructor(
    message: string,
    readonly details = '',
  ) {
    super(message)
  }
}

function describeExit(result: JobResult): string {
  if (result.exitCode === null) return result.signal ? `stopped by ${result.signal}` : 'cancelled'
  return `exit code ${result.exitCode}`
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
}

/**
 * The coordinator: walks the graph in dependency order, skipping what is cached, restoring what was deleted and
 * running the rest through `executor`, at most `jobs` at a time. Only the coordinator writes the cache index.
 */
export async function runGraph(graph: Graph, cache: Cache, options: RunOptions): Promise<RunSummary> {
  const {root} = graph.pipeline
  const hasher = new Hasher(cache.memo)
  const assessor = new Assessor(root, cache, hasher)
  const finished = new Map<string, Assessment>()
  const outcomes = new Map<string, Outcome | 'not run'>()
  const summary: RunSummary = {ran: [], restored: [], upToDate: [], failed: [], notRun: []}
  const {reporter} = options

  async function restore(assessment: Assessment): Promise<void> {
    for (const out of assessment.record!.outs) {
      if (assessment.damagedOuts.includes(out.path)) await cache.restoreOut(assessor.absolute(out.path), out.content)
    }
  }

  async function execute(instance: Instance, assessment: Assessment): Promise<Assessment> {
    const logFile = join(cache.logsDir, `${instance.id}.log`)
    const job = {id: instance.id, argv: instance.argv, cwd: root, logFile, resources: instance.resources, key: assessment.key}
    const finishedUnwatched = options.force ? undefined : await options.executor.completed?.(job)
    if (finishedUnwatched) {
      reporter.line(`${instance.id} finished while no coordinator watched (job ${finishedUnwatched.handle}): recording its outs`)
    } else {
      // Stale or partial output must not pass as fresh: clear the outs and give them their folders.
      for (const out of instance.outs) {
        const path = assessor.absolute(out)
        await rm(path, {recursive: true, force: true})
        await mkdir(dirname(path), {recursive: true})
      }
    }
    const began = Date.now()
    const logHint = `log: ${join('cache', 'logs', `${instance.id}.log`)}`
    const outs: OutRecord[] = []
    const runJob = async () => {
      const running = {executor: options.executor.name, runPid: process.pid, startedAt: new Date().toISOString()}
      await cache.setRunning(instance.id, running)
      reporter.started(instance.id)
      return options.executor
        .run(job, options.signal, (handle) => {
          reporter.handle(instance.id, handle)
          void cache.setRunning(instance.id, {...running, handle})
        })
        .finally(() => reporter.stopped(instance.id))
    }
    try {
      const result = finishedUnwatched ?? await runJob()
      if (result.exitCode !== 0) throw new InstanceFailure(describeExit(result), [result.stderrTail && indent(result.stderrTail), `    ${logHint}`].filter(Boolean).join('\n'))
      for (const out of instance.outs) {
        const content = await hasher.hashPath(assessor.absolute(out))
        if (content === undefined) throw new InstanceFailure(`exited 0 but did not write its out ${out}`, `    ${logHint}`)
        await cache.storeOut(assessor.absolute(out), content)
        outs.push({path: out, content})
      }
      const key = assessment.key!
      await cache.commit(instance.id, key, {key, argv: instance.argv, deps: assessment.depHashes, code: assessment.code, params: instance.params, upstream: assessment.upstreamKeys}, outs)
    } catch (error) {
      await cache.setRunning(instance.id, undefined) // the commit clears it on success
      throw error
    }
    reporter.line(`✓ ran ${instance.id} (${formatSeconds(Date.now() - began)})`)
    return {...assessment, state: 'up to date', reasons: [], record: {id: instance.id, outs, finishedAt: new Date().toISOString()}}
  }

  async function settle(instance: Instance): Promise<Outcome> {
    const assessment = await assessor.assess(instance, finished)
    if (assessment.missingDeps.length > 0) {
      const paths = assessment.missingDeps.join(', ')
      throw new InstanceFailure(`dep missing: ${paths} (neither on disk nor among the outs of an upstream instance)`)
    }
    if (!options.force && assessment.record) {
      if (assessment.state === 'stale') {
        await restore(assessment)
        reporter.line(`↺ restored ${instance.id} from cache (${formatReasons(assessment.reasons)})`)
      }
      finished.set(instance.id, {...assessment, state: 'up to date', reasons: []})
      return assessment.state === 'stale' ? 'restored' : 'up to date'
    }
    finished.set(instance.id, await execute(instance, assessment))
    return 'ran'
  }

  const pending = [...graph.instances]
  const active = new Map<string, Promise<void>>()
  const start = (instance: Instance) => {
    const work = settle(instance)
      .then((outcome) => void outcomes.set(instance.id, outcome))
      .catch((error: unknown) => {
        // A command stopped because the run was cancelled did not fail: it was not run to the end.
        outcomes.set(instance.id, options.signal.aborted ? 'not run' : 'failed')
        if (options.signal.aborted) return
        const {message, details} = error instanceof InstanceFailure ? error : {message: String(error instanceof Error ? error.message : error), details: ''}
        reporter.line(`✗ failed ${instance.id}: ${message}${details ? `\n${details}` : ''}`)
      })
      .finally(() => active.delete(instance.id))
    active.set(instance.id, work)
  }
  while (pending.length > 0 || active.size > 0) {
    for (let index = 0; index < pending.length && active.size < options.jobs && !options.signal.aborted; ) {
      const instance = pending[index]
      const parents = instance.upstream.map((parent) => outcomes.get(parent.id))
      if (parents.some((outcome) => outcome === 'failed' || outcome === 'not run')) {
        pending.splice(index, 1)
        outcomes.set(instance.id, 'not run')
        const cause = instance.upstream.find((parent) => ['failed', 'not run'].includes(outcomes.get(parent.id)!))!
        reporter.line(`- not run ${instance.id}: upstream ${cause.id} did not succeed`)
        index = 0 // its own downstream may now be decidable
      } else if (parents.every((outcome) => outcome !== undefined)) {
        pending.splice(index, 1)
        start(instance)
      } else index++
    }
    if (options.signal.aborted) for (const instance of pending.splice(0)) outcomes.set(instance.id, 'not run')
    if (active.size === 0) break
    await Promise.race(active.values())
  }
  for (const instance of graph.instances) {
    const outcome = outcomes.get(instance.id) ?? 'not run'
    const list = {ran: summary.ran, restored: summary.restored, 'up to date': summary.upToDate, failed: summary.failed, 'not run': summary.notRun}[outcome]
    list.push(instance.id)
  }
  return summary
}
