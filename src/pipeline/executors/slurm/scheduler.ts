import {execa} from 'execa'
import type {Resources} from '../executor.js'

/** Where a Slurm job stands, as far as the coordinator cares. */
export type JobPhase = 'queued' | 'running' | 'finished'

export interface JobState {
  phase: JobPhase
  /** Slurm's own state name, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT. */
  state: string
  /** Why a pending job waits (Resources, Priority, ...), empty when not pending. */
  reason: string
}

const RUNNING_STATES = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING'])
/** Still owned by the scheduler and may run later (held, suspended, requeued ...). */
const WAITING_STATES = new Set(['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'SUSPENDED', 'STOPPED', 'RESV_DEL_HOLD'])

function phaseOf(state: string): JobPhase {
  if (RUNNING_STATES.has(state)) return 'running'
  if (WAITING_STATES.has(state)) return 'queued'
  return 'finished'
}

const MEMORY = /^\d+[KMGT]?$/i
const TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/

/** Turns a stage's resources into sbatch flags; bad values are reported with the stage's instance id. */
export function resourceFlags(resources: Resources | undefined, instanceId: string): string[] {
  if (!resources) return []
  const flags: string[] = []
  const bad = (key: string, value: unknown, expected: string): never => {
    throw new Error(`${instanceId}: resources.${key} '${String(value)}' must be ${expected}`)
  }
  const {gpus, cpus, mem, time, partition} = resources
  if (gpus !== undefined) {
    if (!Number.isInteger(gpus) || gpus < 0) bad('gpus', gpus, 'a whole number ≥ 0')
    if (gpus > 0) flags.push(`--gres=gpu:${gpus}`)
  }
  if (cpus !== undefined) {
    if (!Number.isInteger(cpus) || cpus < 1) bad('cpus', cpus, 'a whole number ≥ 1')
    flags.push(`--cpus-per-task=${cpus}`)
  }
  if (mem !== undefined) {
    if (!MEMORY.test(mem)) bad('mem', mem, 'a size such as 512M or 16G')
    flags.push(`--mem=${mem}`)
  }
  if (time !== undefined) {
    if (!TIME.test(time)) bad('time', time, 'a Slurm time limit such as 04:00:00 or 1-12:00:00')
    flags.push(`--time=${time}`)
  }
  if (partition !== undefined) {
    if (!/^[\w.-]+$/.test(partition)) bad('partition', partition, 'a partition name')
    flags.push(`--partition=${partition}`)
  }
  return flags
}

/** Runs a Slurm client command; a missing command is an error that says where the coordinator must run. */
async function slurmCommand(command: string, args: string[]): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const result = await execa(command, args, {reject: false, stdin: 'ignore'})
  if (result.exitCode === undefined) {
    const missing = (result as {code?: string}).code === 'ENOENT'
    throw new Error(missing
      ? `${command} not found: --executor slurm must run where the Slurm client commands work (a cluster login node)`
      : `${command} failed to start: ${result.shortMessage}`)
  }
  return {exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr}
}

export interface Submission {
  name: string
  cwd: string
  stdoutFile: string
  stderrFile: string
  resources: string[]
  /** The batch script and its arguments. */
  script: string
  args: string[]
}

/** Submits a batch job and returns its Slurm job id. */
export async function submit(submission: Submission): Promise<string> {
  const result = await slurmCommand('sbatch', [
    '--parsable',
    `--job-name=${submission.name}`,
    `--chdir=${submission.cwd}`,
    `--output=${submission.stdoutFile}`,
    `--error=${submission.stderrFile}`,
    // A node failure must surface as a failed instance, not rerun the command behind the coordinator's back.
    '--no-requeue',
    ...submission.resources,
    submission.script,
    ...submission.args,
  ])
  if (result.exitCode !== 0) {
    throw new Error(`sbatch refused ${submission.name}: ${(result.stderr || result.stdout || `exit code ${result.exitCode}`).trim()}`)
  }
  // --parsable prints "id" or "id;cluster".
  const id = result.stdout.trim().split(';')[0]
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id for ${submission.name}: '${result.stdout.trim()}'`)
  return id
}

/**
 * The states of the given jobs in one squeue call. Jobs the controller no longer knows (finished longer ago than its
 * MinJobAge) are absent from the map. Throws when the controller cannot be reached, so callers can retry.
 */
export async function queryStates(ids: string[]): Promise<Map<string, JobState>> {
  const states = new Map<string, JobState>()
  if (ids.length === 0) return states
  const result = await slurmCommand('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T|%r'])
  if (result.exitCode !== 0) {
    // squeue fails when none of the ids is known any more: that is an answer, not an outage.
    if (/invalid job id/i.test(result.stderr)) return states
    throw new Error(`squeue failed: ${(result.stderr || `exit code ${result.exitCode}`).trim()}`)
  }
  for (const line of result.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|')
    if (!id || !state) continue
    states.set(id, {phase: phaseOf(state), state, reason: state === 'PENDING' ? reason ?? '' : ''})
  }
  return states
}

/** The final state from accounting, for jobs squeue has forgotten; undefined where accounting is not configured. */
export async function accountedState(id: string): Promise<string | undefined> {
  const result = await slurmCommand('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${id}`, '--format=State']).catch(() => undefined)
  if (result?.exitCode !== 0) return undefined
  // "CANCELLED by 0" carries who cancelled it; the first word is the state.
  const state = result.stdout.trim().split('\n')[0]?.split(' ')[0]
  return state || undefined
}

/** Cancels jobs; ids the controller no longer knows are ignored. */
export async function cancel(ids: string[]): Promise<void> {
  if (ids.length === 0) return
  const result = await slurmCommand('scancel', ids)
  if (result.exitCode !== 0 && !/invalid job id|already completing or completed/i.test(result.stderr)) {
    throw new Error(`scancel ${ids.join(' ')} failed: ${result.stderr.trim()}`)
  }
}
