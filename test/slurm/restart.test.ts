import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ensureCluster, showJob} from './cluster.js'
import {SlurmProject, STEPS} from './project.js'

const skipReason = await ensureCluster()
if (skipReason) console.warn(`skipping the Slurm coordinator restart test: ${skipReason}`)

describe.skipIf(skipReason !== undefined)('a Slurm coordinator stopped mid-run', () => {
  let project: SlurmProject
  beforeEach(async () => {
    project = await SlurmProject.create()
  })
  afterEach(async () => {
    await project.remove()
  })

  it('interrupted (SIGINT), cancels its Slurm jobs, records nothing for them and exits 130', async () => {
    await writeFile(path.join(project.dir, 'hold-gen'), '')
    const coordinator = project.run()
    await expect.poll(() => project.ledger().length, {timeout: 60_000, interval: 100}).toBe(2)
    await expect.poll(async () => (await project.runs()).length, {timeout: 60_000, interval: 100}).toBeGreaterThan(0)
    const submitted = project.ledger().map((job) => job.slurmId)
    coordinator.kill('SIGINT')
    const result = await coordinator
    expect(result.exitCode, result.all).toBe(130)
    for (const id of submitted) expect((await showJob(id)).JobState).toBe('CANCELLED')
    expect(project.ledger()).toEqual([])
    expect((await project.status()).filter((row) => row.state === 'up to date')).toEqual([])
  })

  it('by SIGKILL, leaves its jobs visible to status; its restart follows them and submits only the rest; a third coordinator is refused', async () => {
    // The combine steps wait for a `release` file, so the kill surely finds them queued or running.
    await writeFile(path.join(project.dir, 'hold-combine'), '')
    const first = project.run()
    await expect.poll(() => project.ledger().filter((job) => job.instance.startsWith('combine')).length, {timeout: 60_000, interval: 100}).toBe(4)
    await expect.poll(async () => (await project.runs()).some((step) => step.startsWith('combine')), {timeout: 60_000, interval: 100}).toBe(true)
    first.kill('SIGKILL')
    await first
    const left = Object.fromEntries(project.ledger().map((job) => [job.instance, job.slurmId]))

    const orphaned = (await project.status()).filter((row) => row.slurm)
    expect(Object.fromEntries(orphaned.map((row) => [row.id, row.slurm!.jobId]))).toEqual(left)
    expect(orphaned.every((row) => ['queued', 'running'].includes(row.state))).toBe(true)
    const running = orphaned.find((row) => row.state === 'running')!
    const human = await project.seldpipe('status')
    expect(human.all).toMatch(new RegExp(`^running +${running.id} +slurm job ${running.slurm!.jobId} RUNNING$`, 'm'))

    const second = project.run()
    // Release the held steps only once the new coordinator follows all four, so none of them ends unwatched.
    await expect.poll(async () => Object.fromEntries((await project.status()).filter((row) => row.running?.handle).map((row) => [row.id, row.running!.handle])),
      {timeout: 60_000, interval: 250}).toEqual(left)
    const third = await project.run()
    expect(third.exitCode).not.toBe(0)
    expect(third.all!.replace(/\s+/g, ' ')).toMatch(/another seldpipe coordinator \(pid \d+ on .+\) is running this project's Slurm jobs/)
    await writeFile(path.join(project.dir, 'release'), '')

    const result = await second
    expect(result.exitCode, result.all).toBe(0)
    expect(result.all).toContain('6 ran, 0 restored, 2 up to date') // gen was recorded before the kill
    expect([...await project.runs()].sort()).toEqual([...STEPS].sort())
    expect(await project.submitted()).toHaveLength(8)
    expect(project.ledger()).toEqual([])
  })

  it('by SIGKILL, with its jobs then finishing unwatched: the restart records their outs and submits only the rest', async () => {
    await writeFile(path.join(project.dir, 'hold-combine'), '')
    const first = project.run()
    await expect.poll(() => project.ledger().filter((job) => job.instance.startsWith('combine')).length, {timeout: 60_000, interval: 100}).toBe(4)
    first.kill('SIGKILL')
    await first
    await writeFile(path.join(project.dir, 'release'), '')
    // Every submitted job ends with no coordinator watching.
    await expect.poll(async () => (await project.status()).filter((row) => row.slurm).length, {timeout: 120_000, interval: 250}).toBe(0)
    const submittedBefore = (await project.submitted()).length

    const second = await project.run()
    expect(second.exitCode, second.all).toBe(0)
    expect(second.all).toMatch(/combine@.* finished while no coordinator watched \(job \d+\): recording its outs/)
    // Only the two report steps are new jobs; every step ran exactly once.
    expect(await project.submitted()).toHaveLength(submittedBefore + 2)
    expect([...await project.runs()].sort()).toEqual([...STEPS].sort())
    expect((await project.status()).every((row) => row.state === 'up to date')).toBe(true)
    expect(project.ledger()).toEqual([])
  })
})
