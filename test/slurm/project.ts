import {execa, type Result} from 'execa'
import {copyFile, mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'vitest'
import {readSubmittedJobs, type SubmittedJob} from '../../src/pipeline/executors/slurm/ledger.js'
import {cancel} from '../../src/pipeline/executors/slurm/scheduler.js'
import {repoRoot} from './cluster.js'

const fixture = path.join(repoRoot, 'test', 'slurm', 'fixture')
const cli = path.join(repoRoot, 'bin', 'run.js')

/** The steps of the fixture pipeline: gen@x (2) → combine@x,y (4) → report@y (2). */
export const STEPS = ['gen-1', 'gen-2', 'combine-1-a', 'combine-1-b', 'combine-2-a', 'combine-2-b', 'report-a', 'report-b']

/** The parts of `seldpipe status --json` rows these tests read. */
export interface StatusRow {
  id: string
  state: string
  running?: {handle: string | null}
  slurm?: {jobId: string; state: string}
}

type CliResult = Result<{reject: false; all: true}>

/** A temporary copy of the fixture pipeline (test/slurm/fixture), driven through the built CLI. */
export class SlurmProject {
  private constructor(readonly dir: string) {}

  static async create(): Promise<SlurmProject> {
    const dir = await mkdtemp(path.join(tmpdir(), 'seldpipe-slurm-run-'))
    await copyFile(path.join(fixture, 'pipeline.yaml'), path.join(dir, 'pipeline.yaml'))
    await copyFile(path.join(fixture, 'step.cjs'), path.join(dir, 'step.cjs'))
    return new SlurmProject(dir)
  }

  seldpipe(...args: string[]) {
    return execa(process.execPath, [cli, ...args], {cwd: this.dir, reject: false, all: true, env: {SELDPIPE_SLURM_POLL_MS: '200'}})
  }

  run(...args: string[]) {
    return this.seldpipe('run', '--executor', 'slurm', '--jobs', '8', ...args)
  }

  async status(): Promise<StatusRow[]> {
    const result: CliResult = await this.seldpipe('status', '--json')
    expect(result.exitCode, result.all).toBe(0)
    return JSON.parse(result.stdout) as StatusRow[]
  }

  /** The steps that ran, in the order they started (every execution appends a line to runs.log). */
  async runs(): Promise<string[]> {
    return (await readFile(path.join(this.dir, 'runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean)
  }

  /** Every Slurm job submitted for this project, from the controller (which keeps ended jobs for MinJobAge). */
  async submitted(): Promise<string[]> {
    const {stdout} = await execa('squeue', ['--noheader', '--states=all', '--format=%i|%Z'])
    return stdout.split('\n').map((line) => line.trim().split('|')).filter(([, workDir]) => workDir === this.dir).map(([id]) => id)
  }

  /** The coordinator's record of its submitted, unfinished jobs. */
  ledger(): SubmittedJob[] {
    return readSubmittedJobs(path.join(this.dir, 'cache', 'slurm'))
  }

  /** Cancels whatever a failed test left on the cluster and deletes the folder. */
  async remove(): Promise<void> {
    await cancel(this.ledger().map((job) => job.slurmId))
    await rm(this.dir, {recursive: true, force: true})
  }
}
