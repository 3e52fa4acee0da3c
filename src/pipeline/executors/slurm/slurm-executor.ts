import {createHash} from 'node:crypto'
import {mkdir, open, readFile, rm, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {CACHE_KEY_ENV, type Executor, type ExecutorContext, type Job, type JobResult} from '../executor.js'
import {LineTail} from '../line-tail.js'
import {CoordinatorLock, Ledger, readSubmittedJobs, writeFileAtomically, type SubmittedJob} from './ledger.js'
import {accountedState, cancel, queryStates, resourceFlags, submit, type JobState} from './scheduler.js'

export interface SlurmExecutorOptions {
  /** The project's Slurm folder on the shared file system, e.g. `<project>/cache/slurm`. */
  stateDir: string
  /** How often squeue is asked about the running jobs (one call for all of them). */
  pollMs?: number
  /** Reports scheduler trouble that is retried rather than failed (an unreachable controller, say). */
  warn?: (message: string) => void
}

/**
 * The batch script every job runs: the stage's argv arrives as arguments (no shell parsing of the command), and the
 * exit code is written next to Slurm's output files with an atomic rename, so the coordinator knows it even after
 * the controller has forgotten the job and without an accounting database.
 */
const JOB_SCRIPT = `#!/bin/sh
# seldpipe Slurm job: $1 is the folder for the exit code, the rest is the stage command's argv.
exit_dir=$1
shift
"$@"
code=$?
printf '%s\\n' "$code" > "$exit_dir/$SLURM_JOB_ID.exit.tmp" && mv -f "$exit_dir/$SLURM_JOB_ID.exit.tmp" "$exit_dir/$SLURM_JOB_ID.exit"
exit "$code"
`

const DEFAULT_POLL_MS = 5000
/** How long a job Slurm reports as ended may take to show its exit-code file (network file systems lag). */
const EXIT_FILE_GRACE_MS = 15_000
const STDERR_TAIL_LINES = 20
/** End states in which the job's command ran until it exited by itself (UNKNOWN: the scheduler forgot the job). */
const RAN_TO_END_STATES = new Set(['COMPLETED', 'FAILED', 'UNKNOWN'])

/** Copies what a growing file gained since the last call into the job's log, so the log fills while the job runs. */
class LogTail {
  private offset = 0

  /** `lines` keeps the file's last lines too (for stderr, shown when the job fails). */
  constructor(readonly file: string, readonly lines?: LineTail) {}

  async drainInto(out: FileHandle): Promise<void> {
    let handle: FileHandle
    try {
      handle = await open(this.file, 'r')
    } catch {
      return // Slurm creates the file when the job starts.
    }
    try {
      const buffer = Buffer.alloc(65_536)
      for (;;) {
        const {bytesRead} = await handle.read(buffer, 0, buffer.length, this.offset)
        if (bytesRead === 0) break
        await out.write(buffer, 0, bytesRead)
        this.lines?.push(buffer.toString('utf8', 0, bytesRead))
        this.offset += bytesRead
      }
    } finally {
      await handle.close()
    }
  }
}

interface FollowedJob {
  entry: SubmittedJob
  log: FileHandle
  stdout: LogTail
  stderr: LogTail
  /** When Slurm first reported the job as ended without its exit-code file being visible yet. */
  endedAt?: number
  settle: (result: JobResult) => void
}

function fingerprintOf(job: Job): string {
  return createHash('sha256').update(JSON.stringify([job.key ?? null, job.argv, job.cwd, job.resources ?? {}])).digest('hex')
}

/**
 * Runs stage instances as Slurm batch jobs. The coordinator (the `seldpipe run` process holding this executor) is
 * the only writer of the cache index; jobs only write their outs on the shared file system. Submitted jobs are
 * recorded in `<stateDir>/jobs.json`; a restarted coordinator follows the ones still queued or running instead of
 * submitting them again. `close()` when done, to release the coordinator lock (a lock left by a dead coordinator is
 * taken over: at once on the same host, after two minutes without heartbeat from another host).
 */
export class SlurmExecutor implements Executor {
  readonly name = 'slurm'
  private readonly followed = new Map<string, FollowedJob>()
  private polling?: Promise<void>
  private prepared?: Promise<void>
  private readonly pollMs: number
  private readonly jobsDir: string
  private readonly script: string
  private readonly lock: CoordinatorLock
  private readonly ledger: Ledger

  /** Takes the project's coordinator lock, refusing if another coordinator holds it. */
  constructor(private readonly options: SlurmExecutorOptions) {
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS
    this.jobsDir = path.resolve(options.stateDir, 'jobs')
    this.script = path.resolve(options.stateDir, 'job.sh')
    this.lock = CoordinatorLock.acquire(options.stateDir)
    try {
      this.ledger = Ledger.load(options.stateDir)
    } catch (error) {
      void this.lock.release()
      throw error
    }
  }

  private async prepare(): Promise<void> {
    await mkdir(this.jobsDir, {recursive: true})
    await writeFileAtomically(this.script, JOB_SCRIPT, 0o755)
    // Of the jobs that ended while no coordinator watched them, keep those whose command exited 0 (their outs are on
    // the shared file system, for `completed` to hand to the engine); forget the others, which run again.
    const recorded = this.ledger.all()
    if (recorded.length === 0) return
    const states = await queryStates(recorded.map((job) => job.slurmId))
    for (const job of recorded) {
      const state = states.get(job.slurmId)
      if (state && state.phase !== 'finished') continue
      const finalState = state?.state ?? (await accountedState(job.slurmId)) ?? 'UNKNOWN'
      if (RAN_TO_END_STATES.has(finalState) && (await this.readExitCode(job.slurmId)) === 0) {
        await this.ledger.put({...job, phase: 'finished', state: finalState})
      } else {
        await this.forget(job)
      }
    }
  }

  private async ensurePrepared(): Promise<void> {
    // Once per coordinator; a failure (controller unreachable, say) is retried by the next job.
    await (this.prepared ??= this.prepare().catch((error: unknown) => {
      this.prepared = undefined
      throw error
    }))
  }

  async completed(job: Job): Promise<JobResult | undefined> {
    await this.ensurePrepared()
    const entry = this.ledger.get(job.id)
    if (entry?.phase !== 'finished') return undefined
    if (entry.fingerprint !== fingerprintOf(job)) {
      await this.forget(entry)
      return undefined
    }
    await mkdir(path.dirname(job.logFile), {recursive: true})
    const log = await open(job.logFile, 'w')
    const stderr = new LogTail(path.join(this.jobsDir, `${entry.slurmId}.err`), new LineTail(STDERR_TAIL_LINES))
    try {
      await new LogTail(path.join(this.jobsDir, `${entry.slurmId}.out`)).drainInto(log)
      await stderr.drainInto(log)
    } finally {
      await log.close()
    }
    await this.forget(entry)
    return {exitCode: 0, stderrTail: stderr.lines?.text() ?? '', handle: entry.slurmId}
  }

  /** Whether a job's command is still to come or still going (a COMPLETING job's command has already exited). */
  private async commandNotEnded(slurmId: string): Promise<boolean> {
    const state = (await queryStates([slurmId])).get(slurmId)
    return state !== undefined && (state.phase === 'queued' || state.state === 'RUNNING' || state.state === 'CONFIGURING')
  }

  private async forget(job: SubmittedJob): Promise<void> {
    await this.ledger.remove(job.instance)
    await this.removeJobFiles(job.slurmId)
  }

  async run(job: Job, signal: AbortSignal, onStart?: (handle: string) => void): Promise<JobResult> {
    if (signal.aborted) return {exitCode: null, signal: 'CANCELLED', stderrTail: ''}
    await this.ensurePrepared()
    const fingerprint = fingerprintOf(job)
    let entry = this.ledger.get(job.id)
    if (entry && !(entry.fingerprint === fingerprint && await this.commandNotEnded(entry.slurmId))) {
      // Left by an earlier coordinator, and either for another command or already past its command, whose outs the
      // engine has just cleared: of no use now.
      await cancel([entry.slurmId])
      await this.forget(entry)
      entry = undefined
    }
    if (!entry) {
      const slurmId = await submit({
        name: `seldpipe:${job.id}`,
        cwd: job.cwd,
        // sbatch expands %j to the job id in these names (and reads %% as a literal %).
        stdoutFile: path.join(this.jobsDir.replaceAll('%', '%%'), '%j.out'),
        stderrFile: path.join(this.jobsDir.replaceAll('%', '%%'), '%j.err'),
        resources: [...resourceFlags(job.resources, job.id), ...exportCacheKey(job.key)],
        script: this.script,
        args: [this.jobsDir, ...job.argv],
      })
      entry = {instance: job.id, slurmId, fingerprint, phase: 'queued', state: 'PENDING', submittedAt: new Date().toISOString()}
      await this.ledger.put(entry)
    }
    onStart?.(entry.slurmId)
    await mkdir(path.dirname(job.logFile), {recursive: true})
    const log = await open(job.logFile, 'w')
    const {slurmId} = entry
    const result = new Promise<JobResult>((resolve) => {
      this.followed.set(slurmId, {
        entry: entry!,
        log,
        stdout: new LogTail(path.join(this.jobsDir, `${slurmId}.out`)),
        stderr: new LogTail(path.join(this.jobsDir, `${slurmId}.err`), new LineTail(STDERR_TAIL_LINES)),
        settle: resolve,
      })
    })
    const onAbort = (): void => void cancel([slurmId]).catch((error: Error) => this.options.warn?.(error.message))
    signal.addEventListener('abort', onAbort, {once: true})
    if (signal.aborted) onAbort()
    this.polling ??= this.poll()
    try {
      return await result
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** One squeue call per round for every followed job, until none is left. */
  private async poll(): Promise<void> {
    while (this.followed.size > 0) {
      await sleep(this.pollMs)
      let states: Map<string, JobState>
      try {
        states = await queryStates([...this.followed.keys()])
      } catch (error) {
        this.options.warn?.(`${(error as Error).message}; retrying`)
        continue
      }
      for (const job of [...this.followed.values()]) {
        try {
          await this.update(job, states.get(job.entry.slurmId))
        } catch (error) {
          this.options.warn?.(`Slurm job ${job.entry.slurmId}: ${(error as Error).message}`)
        }
      }
    }
    this.polling = undefined
  }

  /** Brings the job's log up to date; trouble reading Slurm's files is a warning, not a reason to stop following. */
  private async drain(job: FollowedJob): Promise<void> {
    try {
      await job.stdout.drainInto(job.log)
      await job.stderr.drainInto(job.log)
    } catch (error) {
      this.options.warn?.(`Slurm job ${job.entry.slurmId}: ${(error as Error).message}`)
    }
  }

  private async update(job: FollowedJob, state: JobState | undefined): Promise<void> {
    await this.drain(job)
    if (state && state.phase !== 'finished') {
      if (state.state !== job.entry.state) {
        job.entry = {...job.entry, phase: state.phase, state: state.state}
        await this.ledger.put(job.entry)
      }
      return
    }
    const {slurmId} = job.entry
    const finalState = state?.state ?? (await accountedState(slurmId)) ?? 'UNKNOWN'
    // Cancelled, timed out, out of memory, node failure ...: the scheduler ended the job, whatever its command said.
    if (!RAN_TO_END_STATES.has(finalState)) return this.settle(job, null, finalState)
    const exitCode = await this.readExitCode(slurmId)
    // A job that ran to its end writes its exit code; give a lagging shared file system time to show it.
    if (exitCode === undefined) {
      job.endedAt ??= Date.now()
      if (Date.now() - job.endedAt < EXIT_FILE_GRACE_MS) return
    }
    await this.settle(job, exitCode ?? (finalState === 'COMPLETED' ? 0 : null), finalState)
  }

  private async settle(job: FollowedJob, exitCode: number | null, finalState: string): Promise<void> {
    const {slurmId} = job.entry
    this.followed.delete(slurmId)
    const warn = (error: Error): void => this.options.warn?.(`Slurm job ${slurmId}: ${error.message}`)
    await this.drain(job)
    await job.log.close().catch(warn)
    const stderrTail = job.stderr.lines?.text() ?? ''
    // Bookkeeping failures are warnings: the result is handed back regardless, so no job is followed for ever.
    await this.forget(job.entry).catch(warn)
    job.settle(exitCode === null
      ? {exitCode: null, signal: finalState, stderrTail: stderrTail || `Slurm job ${slurmId} ended ${finalState}`, handle: slurmId}
      : {exitCode, stderrTail, handle: slurmId})
  }

  private async readExitCode(slurmId: string): Promise<number | undefined> {
    try {
      const code = Number((await readFile(path.join(this.jobsDir, `${slurmId}.exit`), 'utf8')).trim())
      return Number.isInteger(code) ? code : undefined
    } catch {
      return undefined
    }
  }

  private async removeJobFiles(slurmId: string): Promise<void> {
    await Promise.all(['out', 'err', 'exit'].map((ext) => rm(path.join(this.jobsDir, `${slurmId}.${ext}`), {force: true})))
  }

  /** Cancels jobs still followed (the engine gave up on them) and releases the coordinator lock. */
  async close(): Promise<void> {
    const left = [...this.followed.keys()]
    if (left.length > 0) await cancel(left).catch((error: Error) => this.options.warn?.(error.message))
    await this.polling
    await this.lock.release()
  }
}

/**
 * The `--executor slurm` factory: state under the project's cache/slurm (which must be on the shared file system);
 * SELDPIPE_SLURM_POLL_MS sets how often squeue is asked (default 5 s).
 */
/**
 * sbatch's --export adding the instance's cache key to what the job inherits: everything, unless the site's
 * SBATCH_EXPORT says otherwise.
 */
function exportCacheKey(key: string | undefined, inherited = process.env.SBATCH_EXPORT ?? 'ALL'): string[] {
  if (key === undefined) return []
  return [`--export=${inherited.toUpperCase() === 'NONE' ? '' : `${inherited},`}${CACHE_KEY_ENV}=${key}`]
}

export function createSlurmExecutor(context: ExecutorContext): SlurmExecutor {
  const poll = process.env.SELDPIPE_SLURM_POLL_MS
  const pollMs = poll === undefined || poll === '' ? undefined : Number(poll)
  if (pollMs !== undefined && !(Number.isFinite(pollMs) && pollMs >= 50)) {
    throw new Error(`SELDPIPE_SLURM_POLL_MS must be a number of milliseconds ≥ 50, got '${poll}'`)
  }
  return new SlurmExecutor({stateDir: slurmStateDir(context.cacheDir), pollMs, warn: context.warn})
}

const slurmStateDir = (cacheDir: string): string => path.join(cacheDir, 'slurm')

/**
 * The project's Slurm jobs still queued or running, for `seldpipe status`: as squeue sees them now, or as the
 * coordinator last recorded them when the controller cannot be reached.
 */
export async function activeSlurmJobs(cacheDir: string): Promise<SubmittedJob[]> {
  const recorded = readSubmittedJobs(slurmStateDir(cacheDir))
  if (recorded.length === 0) return []
  let states: Map<string, JobState>
  try {
    states = await queryStates(recorded.map((job) => job.slurmId))
  } catch {
    return recorded
  }
  return recorded.flatMap((job) => {
    const state = states.get(job.slurmId)
    return state && state.phase !== 'finished' ? [{...job, phase: state.phase, state: state.state}] : []
  })
}
