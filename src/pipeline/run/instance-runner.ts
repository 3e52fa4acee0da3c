import {mkdir, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {Assessor, formatReasons, type Assessment} from './assess.js'
import {CorruptObjectError, type Cache, type OutRecord} from '../state/cache.js'
import type {Executor, Job, JobResult} from '../executors/executor.js'
import type {Instance} from '../graph/graph.js'
import {Hasher} from '../state/hash.js'
import {describeRun, RunRecords} from '../state/records.js'
import {formatSeconds, type Reporter} from './progress.js'

/** Why an instance did not succeed, with lines to show under the message (its stderr tail, where its log is). */
export class InstanceFailure extends Error {
  constructor(
    message: string,
    readonly details = '',
  ) {
    super(message)
  }
}

export interface InstanceRunnerOptions {
  executor: Executor
  force: boolean
  reporter: Reporter
  signal: AbortSignal
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
 * Brings one instance up to date once its upstream instances have: skips it when cached, restores damaged outs from
 * the cache, or runs its command through the executor and records its outs.
 */
export class InstanceRunner {
  private readonly hasher: Hasher
  private readonly assessor: Assessor
  /** Assessments of the instances brought up to date so far, as their downstream needs them. */
  private readonly finished = new Map<string, Assessment>()
  private readonly records: RunRecords
  private readonly keyOf = (id: string) => this.finished.get(id)!.key!

  constructor(
    private readonly root: string,
    private readonly cache: Cache,
    private readonly options: InstanceRunnerOptions,
  ) {
    this.hasher = new Hasher(cache.memo)
    this.assessor = new Assessor(root, cache, this.hasher)
    this.records = new RunRecords(cache)
  }

  /** `gpus`: the devices the instance's command may use, when the engine places it (see Job.gpus). */
  async settle(instance: Instance, gpus?: string[]): Promise<'ran' | 'restored' | 'up to date'> {
    const assessment = await this.assessor.assess(instance, this.finished)
    if (assessment.missingDeps.length > 0) {
      const paths = assessment.missingDeps.join(', ')
      throw new InstanceFailure(`dep missing: ${paths} (neither on disk nor among the outs of an upstream instance)`)
    }
    if (!this.options.force && assessment.record) {
      if (assessment.state === 'stale') {
        try {
          await this.restore(assessment)
        } catch (error) {
          if (!(error instanceof CorruptObjectError)) throw error
          // The bad object is gone: running the instance stores its out again.
          this.options.reporter.line(`! ${error.message}: deleted it; running ${instance.id} instead of restoring it`)
          this.finished.set(instance.id, await this.execute(instance, assessment, gpus))
          return 'ran'
        }
        this.options.reporter.line(`↺ restored ${instance.id} from cache (${formatReasons(assessment.reasons)})`)
      }
      await this.recordIfMissing(instance, assessment)
      this.finished.set(instance.id, {...assessment, state: 'up to date', reasons: []})
      return assessment.state === 'stale' ? 'restored' : 'up to date'
    }
    this.finished.set(instance.id, await this.execute(instance, assessment, gpus))
    return 'ran'
  }

  /** A result cached before runs were recorded gets its record from the files on disk, which match its key. */
  private async recordIfMissing(instance: Instance, assessment: Assessment): Promise<void> {
    if (this.records.get(assessment.key!) !== undefined) return
    try {
      await this.records.put(await describeRun(instance, assessment.key!, this.root, this.keyOf, assessment.record!.finishedAt))
    } catch (error) {
      this.options.reporter.line(`warning: ${instance.id} not recorded: ${(error as Error).message}`)
    }
  }

  private async restore(assessment: Assessment): Promise<void> {
    for (const out of assessment.record!.outs) {
      if (assessment.damagedOuts.includes(out.path)) await this.cache.restoreOut(this.assessor.absolute(out.path), out.content)
    }
  }

  private async execute(instance: Instance, assessment: Assessment, gpus: string[] | undefined): Promise<Assessment> {
    const {executor, reporter} = this.options
    const logFile = join(this.cache.logsDir, `${instance.id}.log`)
    const job: Job = {id: instance.id, argv: instance.argv, cwd: this.root, logFile, resources: instance.resources, key: assessment.key, gpus}
    const finishedUnwatched = this.options.force ? undefined : await executor.completed?.(job)
    if (finishedUnwatched) {
      reporter.line(`${instance.id} finished while no coordinator watched (job ${finishedUnwatched.handle}): recording its outs`)
    } else {
      await this.clearOuts(instance)
    }
    const began = Date.now()
    const logHint = `    log: ${join('cache', 'logs', `${instance.id}.log`)}`
    const outs: OutRecord[] = []
    try {
      const result = finishedUnwatched ?? (await this.runJob(job))
      if (result.exitCode !== 0) throw new InstanceFailure(describeExit(result), [result.stderrTail && indent(result.stderrTail), logHint].filter(Boolean).join('\n'))
      for (const out of instance.outs) {
        const content = await this.hasher.hashPath(this.assessor.absolute(out))
        if (content === undefined) throw new InstanceFailure(`exited 0 but did not write its out ${out}`, logHint)
        if (instance.uncachedOuts.includes(out)) outs.push({path: out, content, cached: false})
        else {
          await this.cache.storeOut(this.assessor.absolute(out), content, this.options.force)
          outs.push({path: out, content})
        }
      }
      const key = assessment.key!
      const run = await describeRun(instance, key, this.root, this.keyOf) // before the commit: unreadable metrics fail the instance
      await this.cache.commit(instance.id, key, {key, argv: instance.argv, deps: assessment.depHashes, code: assessment.code, params: instance.params, upstream: assessment.upstreamKeys}, outs)
      await this.records.put(run)
    } catch (error) {
      await this.cache.setRunning(instance.id, undefined) // the commit clears it on success
      throw error
    }
    reporter.line(`✓ ran ${instance.id} (${formatSeconds(Date.now() - began)})`)
    return {...assessment, state: 'up to date', reasons: [], record: {id: instance.id, outs, finishedAt: new Date().toISOString()}}
  }

  /**
   * Stale or partial output must not pass as fresh: clears the outs and gives them their folders. An uncached out
   * stays: nothing could restore it, so its command is the one to check and reuse it (e.g. a verified download).
   */
  private async clearOuts(instance: Instance): Promise<void> {
    for (const out of instance.outs) {
      const path = this.assessor.absolute(out)
      if (!instance.uncachedOuts.includes(out)) await rm(path, {recursive: true, force: true})
      await mkdir(dirname(path), {recursive: true})
    }
  }

  /** Runs the job, marked as running in the cache (for `status`) and on the reporter while it does. */
  private async runJob(job: Job): Promise<JobResult> {
    const {executor, reporter, signal} = this.options
    const running = {executor: executor.name, runPid: process.pid, startedAt: new Date().toISOString(), gpus: job.gpus}
    await this.cache.setRunning(job.id, running)
    reporter.started(job.id, job.gpus)
    const onStart = (handle: string) => {
      reporter.handle(job.id, handle)
      void this.cache.setRunning(job.id, {...running, handle})
    }
    return executor.run(job, signal, onStart, (text) => reporter.progress(job.id, text)).finally(() => reporter.stopped(job.id))
  }
}
