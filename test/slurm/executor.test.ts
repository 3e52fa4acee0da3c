import {execa} from 'execa'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import type {Job} from '../../src/pipeline/executors/executor.js'
import {SlurmExecutor} from '../../src/pipeline/executors/slurm/slurm-executor.js'
import {readSubmittedJobs} from '../../src/pipeline/executors/slurm/ledger.js'
import {cancel} from '../../src/pipeline/executors/slurm/scheduler.js'
import {ensureCluster, repoRoot, showJob} from './cluster.js'

const skipReason = await ensureCluster()
if (skipReason) console.warn(`skipping the Slurm executor tests: ${skipReason}`)

const POLL_MS = 200

/** A `node -e` job whose log goes under the test folder's cache/logs. */
function nodeJob(dir: string, id: string, script: string, resources?: Job['resources']): Job {
  return {id, argv: [process.execPath, '-e', script], cwd: dir, logFile: path.join(dir, 'cache', 'logs', `${id}.log`), resources}
}

/** Node code that waits until the test creates `file` in the job's folder. */
const waitFor = (file: string): string =>
  `(function wait() { require('fs').existsSync(${JSON.stringify(file)}) ? done() : setTimeout(wait, 50) })();`

describe.skipIf(skipReason !== undefined)('SlurmExecutor on the loopback cluster', () => {
  let dir: string
  let stateDir: string
  const open = (): SlurmExecutor => new SlurmExecutor({stateDir, pollMs: POLL_MS})

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'seldpipe-slurm-'))
    stateDir = path.join(dir, 'cache', 'slurm')
  })
  afterEach(async () => {
    // A test that failed half-way must not leave its jobs occupying the cluster.
    await cancel(readSubmittedJobs(stateDir).map((job) => job.slurmId))
    await rm(dir, {recursive: true, force: true})
  })

  it('runs a job with its resources, streams stdout and stderr into the log and reports the exit code', async () => {
    const executor = open()
    const handles: string[] = []
    const job = nodeJob(dir, 'stage@x=1', `console.log('to stdout'); console.error('to stderr'); require('fs').writeFileSync('out.txt', 'done')`,
      {cpus: 1, mem: '200M', time: '00:05:00'})
    const result = await executor.run(job, new AbortController().signal, (handle) => handles.push(handle))
    await executor.close()

    expect(result).toEqual({exitCode: 0, stderrTail: 'to stderr', handle: handles[0]})
    expect(handles[0]).toMatch(/^\d+$/)
    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('done')
    const log = await readFile(job.logFile, 'utf8')
    expect(log).toContain('to stdout\n')
    expect(log).toContain('to stderr\n')
    const slurm = await showJob(handles[0])
    expect(slurm.JobName).toBe('seldpipe:stage@x=1')
    expect(slurm.TimeLimit).toBe('00:05:00')
    expect(slurm.MinMemoryNode).toBe('200M')
    expect(slurm.WorkDir).toBe(dir)
    expect(readSubmittedJobs(stateDir)).toEqual([])
  })

  it('reports a failing job with its exit code and the end of its stderr', async () => {
    const executor = open()
    const job = nodeJob(dir, 'broken@x=1', `console.error('line 1'); console.error('the reason it failed'); process.exit(3)`)
    const result = await executor.run(job, new AbortController().signal)
    await executor.close()

    expect(result.exitCode).toBe(3)
    expect(result.stderrTail).toBe('line 1\nthe reason it failed')
    expect(await readFile(job.logFile, 'utf8')).toContain('the reason it failed')
    expect((await showJob(result.handle!)).JobState).toBe('FAILED')
  })

  it('records queued and running jobs for status, and cancels a job when aborted', async () => {
    const executor = open()
    const abort = new AbortController()
    const job = nodeJob(dir, 'slow@x=1', `${waitFor('never')} function done() {}`)
    let handle = ''
    const running = executor.run(job, abort.signal, (started) => { handle = started })
    await expect.poll(() => readSubmittedJobs(stateDir).map((entry) => [entry.instance, entry.phase]),
      {timeout: 30_000, interval: 100}).toEqual([['slow@x=1', 'running']])
    expect(readSubmittedJobs(stateDir)[0].slurmId).toBe(handle)
    abort.abort()
    const result = await running
    await executor.close()

    expect(result.exitCode).toBeNull()
    expect(result.signal).toBe('CANCELLED')
    expect((await showJob(handle)).JobState).toBe('CANCELLED')
    expect(readSubmittedJobs(stateDir)).toEqual([])
  })

  it('refuses bad resources before submitting anything', async () => {
    const executor = open()
    const job = nodeJob(dir, 'train@x=1', 'void 0', {mem: 'lots'})
    await expect(executor.run(job, new AbortController().signal)).rejects.toThrow("train@x=1: resources.mem 'lots' must be a size such as 512M or 16G")
    await executor.close()
    expect(readSubmittedJobs(stateDir)).toEqual([])
  })

  it('fails with sbatch\'s own reason when the cluster cannot satisfy the resources', async () => {
    const executor = open()
    const job = nodeJob(dir, 'train@x=1', 'void 0', {gpus: 1})
    await expect(executor.run(job, new AbortController().signal)).rejects.toThrow('sbatch refused seldpipe:train@x=1: sbatch: error: Invalid generic resource (gres) specification')
    await executor.close()
    expect(readSubmittedJobs(stateDir)).toEqual([])
  })

  it('refuses a second coordinator on the same project while the first holds it', async () => {
    const first = open()
    expect(open).toThrow(new RegExp(`another seldpipe coordinator \\(pid ${process.pid} on .+\\) is running this project's Slurm jobs`))
    await first.close()
    const next = open()
    await next.close()
  })

  it('refuses a coordinator on another host while its heartbeat is fresh, and takes over once it has gone quiet', async () => {
    await mkdir(stateDir, {recursive: true})
    const lockFile = path.join(stateDir, 'coordinator.json')
    const elsewhere = (heartbeatAt: Date): string =>
      JSON.stringify({pid: 1, host: 'login-node-2', startedAt: '2026-01-01T00:00:00.000Z', heartbeatAt: heartbeatAt.toISOString()})
    await writeFile(lockFile, elsewhere(new Date()))
    expect(open).toThrow('another seldpipe coordinator (pid 1 on login-node-2, started 2026-01-01T00:00:00.000Z)')
    await writeFile(lockFile, elsewhere(new Date(Date.now() - 10 * 60_000)))
    const executor = open()
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({pid: process.pid})
    await executor.close()
  })

  /** A job that logs each start to runs.txt and writes out.txt once the test creates `release`. */
  const heldJob = (): Job => nodeJob(dir, 'long@x=1',
    `const fs = require('fs'); fs.appendFileSync('runs.txt', 'ran\\n'); ${waitFor('release')} function done() { fs.writeFileSync('out.txt', 'done') }`)

  /** Runs `job` under a coordinator in another process, SIGKILLs it once the job executes, and returns its Slurm id. */
  async function submitThenKillCoordinator(job: Job): Promise<string> {
    const coordinator = path.join(dir, 'coordinator.mjs')
    const executorModule = path.join(repoRoot, 'dist', 'src', 'pipeline', 'executors', 'slurm', 'slurm-executor.js')
    await writeFile(coordinator, `
      import {SlurmExecutor} from ${JSON.stringify(executorModule)}
      const executor = new SlurmExecutor({stateDir: ${JSON.stringify(stateDir)}, pollMs: ${POLL_MS}})
      await executor.run(${JSON.stringify(job)}, new AbortController().signal, (handle) => console.log(handle))
    `)
    const first = execa(process.execPath, [coordinator], {reject: false})
    const handle = await new Promise<string>((resolve) => first.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())))
    await expect.poll(() => readFile(path.join(dir, 'runs.txt'), 'utf8').catch(() => ''), {timeout: 30_000, interval: 100}).toBe('ran\n')
    first.kill('SIGKILL')
    await first
    return handle
  }

  it('after the coordinator is killed, a new one follows its still-running job instead of submitting it again', async () => {
    const job = heldJob()
    const firstHandle = await submitThenKillCoordinator(job)

    const second = open()
    let secondHandle = ''
    const result = await second.run(job, new AbortController().signal, (handle) => {
      secondHandle = handle
      void writeFile(path.join(dir, 'release'), '')
    })
    await second.close()

    expect(secondHandle).toBe(firstHandle)
    expect(result.exitCode).toBe(0)
    expect(await readFile(path.join(dir, 'runs.txt'), 'utf8')).toBe('ran\n')
    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('done')
  })

  it('submits again a job that ended while no coordinator watched it (the engine has cleared its outs by then)', async () => {
    const job = heldJob()
    const firstHandle = await submitThenKillCoordinator(job)
    const second = open()
    // Another instance first, as an engine running one job at a time would: the held job is still running then.
    expect((await second.run(nodeJob(dir, 'quick@x=1', 'void 0'), new AbortController().signal)).exitCode).toBe(0)
    expect(readSubmittedJobs(stateDir).map((entry) => entry.slurmId)).toEqual([firstHandle])
    await writeFile(path.join(dir, 'release'), '')
    await expect.poll(async () => (await showJob(firstHandle)).JobState, {timeout: 30_000, interval: 100}).toBe('COMPLETED')
    await rm(path.join(dir, 'out.txt'))

    let secondHandle = ''
    const result = await second.run(job, new AbortController().signal, (handle) => { secondHandle = handle })
    await second.close()

    expect(secondHandle).not.toBe(firstHandle)
    expect(result.exitCode).toBe(0)
    expect(await readFile(path.join(dir, 'runs.txt'), 'utf8')).toBe('ran\nran\n')
    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('done')
    expect(readSubmittedJobs(stateDir)).toEqual([])
  })
})
