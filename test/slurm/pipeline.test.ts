import {execa, type ResultPromise} from 'execa'
import {copyFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {readSubmittedJobs} from '../../src/pipeline/slurm/ledger.js'
import {cancel} from '../../src/pipeline/slurm/scheduler.js'
import {ensureCluster, repoRoot} from './cluster.js'

const skipReason = await ensureCluster()
if (skipReason) console.warn(`skipping the Slurm pipeline tests: ${skipReason}`)

const fixture = path.join(repoRoot, 'test', 'slurm', 'fixture')
const cli = path.join(repoRoot, 'bin', 'run.js')
/** gen@x (2) → combine@x,y (4) → report@y (2). */
const INSTANCES = ['gen-1', 'gen-2', 'combine-1-a', 'combine-1-b', 'combine-2-a', 'combine-2-b', 'report-a', 'report-b']

/** The parts of `seldpipe status --json` rows these tests read. */
interface StatusRow {
  id: string
  state: string
  running?: {handle: string | null}
  slurm?: {jobId: string; state: string}
}

describe.skipIf(skipReason !== undefined)('seldpipe run --executor slurm on the loopback cluster', () => {
  let dir: string
  const seldpipe = (...args: string[]): ResultPromise<{cwd: string; reject: false; all: true; env: Record<string, string>}> =>
    execa(process.execPath, [cli, ...args], {cwd: dir, reject: false, all: true, env: {SELDPIPE_SLURM_POLL_MS: '200'}})
  const run = (...args: string[]) => seldpipe('run', '--executor', 'slurm', '--jobs', '8', ...args)
  /** The names of the steps that ran, in the order they started (every execution appends one line). */
  const runs = async (): Promise<string[]> => (await readFile(path.join(dir, 'runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean)
  const status = async (): Promise<StatusRow[]> => {
    const result = await seldpipe('status', '--json')
    expect(result.exitCode, result.all).toBe(0)
    return JSON.parse(result.stdout) as StatusRow[]
  }
  /** Every Slurm job submitted for this project, from the controller (which keeps ended jobs for MinJobAge). */
  const submitted = async (): Promise<string[]> => {
    const {stdout} = await execa('squeue', ['--noheader', '--states=all', '--format=%i|%Z'])
    return stdout.split('\n').map((line) => line.trim().split('|')).filter(([, workDir]) => workDir === dir).map(([id]) => id)
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'seldpipe-slurm-run-'))
    await copyFile(path.join(fixture, 'pipeline.yaml'), path.join(dir, 'pipeline.yaml'))
    await copyFile(path.join(fixture, 'step.cjs'), path.join(dir, 'step.cjs'))
  })
  afterEach(async () => {
    await cancel(readSubmittedJobs(path.join(dir, 'cache', 'slurm')).map((job) => job.slurmId))
    await rm(dir, {recursive: true, force: true})
  })

  it('runs every instance of the matrix as a Slurm job in DAG order, caches them all, and a rerun submits nothing', async () => {
    const first = await run()
    expect(first.exitCode, first.all).toBe(0)
    expect(first.all).toContain('8 ran')
    const executed = await runs()
    expect([...executed].sort()).toEqual([...INSTANCES].sort())
    // Each stage starts only once its inputs are done.
    expect(Math.max(...['gen-1', 'gen-2'].map((step) => executed.indexOf(step)))).toBeLessThan(Math.min(...['combine-1-a', 'combine-2-a'].map((step) => executed.indexOf(step))))
    expect(executed.indexOf('report-a')).toBeGreaterThan(Math.max(executed.indexOf('combine-1-a'), executed.indexOf('combine-2-a')))
    expect(await readFile(path.join(dir, 'out', 'report-a.txt'), 'utf8')).toBe('report-a <- combine-1-a <- gen-1 <- combine-2-a <- gen-2\n')
    expect(await submitted()).toHaveLength(8)
    expect(await readFile(path.join(dir, 'cache', 'logs', 'combine@x=2,y=b.log'), 'utf8')).toContain('combine-2-b: reading 1 inputs')

    const again = await run()
    expect(again.exitCode, again.all).toBe(0)
    expect(again.all).toContain('0 ran')
    expect(again.all).toContain('8 up to date')
    expect(await submitted()).toHaveLength(8)
    expect(await runs()).toHaveLength(8)
  })

  it('reports a failing job with the end of its stderr and its log, runs what does not depend on it, and reruns only that part', async () => {
    await writeFile(path.join(dir, 'fail-combine-2-b'), '')
    const failed = await run()
    expect(failed.exitCode).toBe(1)
    expect(failed.all).toContain('failed combine@x=2,y=b: exit code 4')
    expect(failed.all).toContain('combine-2-b: cannot combine, the input is bad')
    expect(failed.all).toContain(path.join('cache', 'logs', 'combine@x=2,y=b.log'))
    expect(failed.all).toMatch(/not run report@y=b/)
    expect(await readFile(path.join(dir, 'cache', 'logs', 'combine@x=2,y=b.log'), 'utf8')).toContain('combine-2-b: cannot combine, the input is bad')
    expect([...await runs()].sort()).toEqual(INSTANCES.filter((step) => step !== 'report-b').sort())

    await rm(path.join(dir, 'fail-combine-2-b'))
    const fixed = await run()
    expect(fixed.exitCode, fixed.all).toBe(0)
    expect((await runs()).slice(7)).toEqual(['combine-2-b', 'report-b'])
  })

  it('a coordinator killed mid-run leaves its jobs visible to status; its restart follows them and submits only the rest; a third is refused', async () => {
    await writeFile(path.join(dir, 'hold-combine'), '')
    const first = run()
    // Wait until every combine job is submitted and at least one is executing (the rest may queue for a CPU).
    await expect.poll(() => readSubmittedJobs(path.join(dir, 'cache', 'slurm')).filter((job) => job.instance.startsWith('combine')).length,
      {timeout: 60_000, interval: 100}).toBe(4)
    await expect.poll(async () => (await runs()).some((step) => step.startsWith('combine')), {timeout: 60_000, interval: 100}).toBe(true)
    first.kill('SIGKILL')
    await first
    const left = Object.fromEntries(readSubmittedJobs(path.join(dir, 'cache', 'slurm')).map((job) => [job.instance, job.slurmId]))

    const orphaned = await status()
    expect(Object.fromEntries(orphaned.filter((row) => row.slurm).map((row) => [row.id, row.slurm!.jobId]))).toEqual(left)
    expect(orphaned.filter((row) => row.slurm).every((row) => ['queued', 'running'].includes(row.state))).toBe(true)
    expect(orphaned.some((row) => row.state === 'running')).toBe(true)
    const human = await seldpipe('status')
    const runningId = orphaned.find((row) => row.state === 'running')!.slurm!.jobId
    expect(human.all).toMatch(new RegExp(`^running +combine@\\S+ +slurm job ${runningId} RUNNING$`, 'm'))

    const second = run()
    // Release the held steps only once the new coordinator follows all four, so none of them ends unwatched.
    await expect.poll(async () => Object.fromEntries((await status()).filter((row) => row.running?.handle).map((row) => [row.id, row.running!.handle])),
      {timeout: 60_000, interval: 250}).toEqual(left)
    const third = await run()
    expect(third.exitCode).not.toBe(0)
    expect(third.all!.replace(/\s+/g, ' ')).toMatch(/another seldpipe coordinator \(pid \d+ on .+\) is running this project's Slurm jobs/)
    await writeFile(path.join(dir, 'release'), '')

    const result = await second
    expect(result.exitCode, result.all).toBe(0)
    expect(result.all).toContain('6 ran, 0 restored, 2 up to date') // gen was recorded before the kill
    expect([...await runs()].sort()).toEqual([...INSTANCES].sort())
    expect(await submitted()).toHaveLength(8)
    expect(readSubmittedJobs(path.join(dir, 'cache', 'slurm'))).toEqual([])
  })
})
