import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {rename, unlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import path from 'node:path'
import {describeHolder, lockHolder, type LockHolder} from '../../state/lock.js'
import type {JobPhase} from './scheduler.js'

/** A Slurm job the coordinator submitted and has not yet handed back to the engine. */
export interface SubmittedJob {
  /** The stage instance id the engine gave the job. */
  instance: string
  slurmId: string
  /** Hash of what the job runs (argv, cwd, resources): a restarted coordinator only adopts a job that matches. */
  fingerprint: string
  phase: JobPhase
  /** Slurm's state name when last seen, e.g. PENDING or RUNNING. */
  state: string
  submittedAt: string
}

const JOBS_FILE = 'jobs.json'
const COORDINATOR_FILE = 'coordinator.json'

/** Replaces a file in one rename, so a reader on the shared file system never sees it half-written. */
export async function writeFileAtomically(file: string, text: string, mode?: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, {mode})
  await rename(tmp, file)
}

const toJson = (value: unknown): string => JSON.stringify(value, null, 2) + '\n'

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`${file}: cannot read the Slurm job record: ${(error as Error).message}`)
  }
}

/** The jobs recorded in a Slurm state folder (cache/slurm), as the last coordinator left them. */
export function readSubmittedJobs(stateDir: string): SubmittedJob[] {
  const data = readJson(path.join(stateDir, JOBS_FILE)) as {jobs?: SubmittedJob[]} | undefined
  return data?.jobs ?? []
}

/**
 * The coordinator's persisted record of its submitted jobs (cache/slurm/jobs.json), so that `status` can show them
 * and a restarted coordinator follows jobs that are still queued or running instead of submitting them again.
 * Only the coordinator holding the lock writes it; every change is written through with an atomic rename.
 */
export class Ledger {
  private writing: Promise<void> = Promise.resolve()

  private constructor(private readonly file: string, private readonly jobs: Map<string, SubmittedJob>) {}

  static load(stateDir: string): Ledger {
    const jobs = readSubmittedJobs(stateDir)
    return new Ledger(path.join(stateDir, JOBS_FILE), new Map(jobs.map((job) => [job.instance, job])))
  }

  get(instance: string): SubmittedJob | undefined {
    return this.jobs.get(instance)
  }

  all(): SubmittedJob[] {
    return [...this.jobs.values()]
  }

  put(job: SubmittedJob): Promise<void> {
    this.jobs.set(job.instance, job)
    return this.save()
  }

  remove(instance: string): Promise<void> {
    return this.jobs.delete(instance) ? this.save() : Promise.resolve()
  }

  /** Writes are chained so that the file always ends up holding the latest state. */
  private save(): Promise<void> {
    const snapshot = {jobs: this.all()}
    // A failed write is reported to its caller and does not stop the later ones.
    this.writing = this.writing.catch(() => undefined).then(() => writeFileAtomically(this.file, toJson(snapshot)))
    return this.writing
  }
}

interface CoordinatorRecord extends LockHolder {
  heartbeatAt: string
}

/** A coordinator on another host (whose pid cannot be checked from here) is presumed dead once its heartbeat is this old. */
const HEARTBEAT_STALE_MS = 120_000
const HEARTBEAT_EVERY_MS = 20_000

/**
 * Exclusive right to coordinate a project's Slurm jobs, held in a file on the shared file system so that a second
 * coordinator is refused, even one on another host, where the run lock's pid check cannot see the first.
 * Taken synchronously so that an executor factory can refuse before anything runs.
 */
export class CoordinatorLock {
  private readonly heartbeat: NodeJS.Timeout

  private constructor(private readonly file: string, private readonly record: CoordinatorRecord) {
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_EVERY_MS).unref()
  }

  static acquire(stateDir: string): CoordinatorLock {
    mkdirSync(stateDir, {recursive: true})
    const file = path.join(stateDir, COORDINATOR_FILE)
    const now = new Date().toISOString()
    const record: CoordinatorRecord = {pid: process.pid, host: hostname(), startedAt: now, heartbeatAt: now}
    try {
      writeFileSync(file, toJson(record), {flag: 'wx'})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = lockHolder(file) as CoordinatorRecord | undefined
      if (holder && (holder.host === hostname() || Date.now() - Date.parse(holder.heartbeatAt) <= HEARTBEAT_STALE_MS)) {
        throw new Error(
          `another seldpipe coordinator (${describeHolder(holder)}) is running this project's Slurm jobs; ` +
          `wait for it to finish or stop it (if it died on another host, remove ${file})`)
      }
      writeFileSync(`${file}.${process.pid}.tmp`, toJson(record))
      renameSync(`${file}.${process.pid}.tmp`, file)
    }
    return new CoordinatorLock(file, record)
  }

  private async beat(): Promise<void> {
    this.record.heartbeatAt = new Date().toISOString()
    await writeFileAtomically(this.file, toJson(this.record)).catch(() => undefined)
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat)
    const holder = lockHolder(this.file)
    if (holder?.pid === this.record.pid && holder.host === this.record.host) await unlink(this.file).catch(() => undefined)
  }
}
