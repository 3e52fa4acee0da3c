import {readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ensureCluster} from './cluster.js'
import {SlurmProject, STEPS} from './project.js'

const skipReason = await ensureCluster()
if (skipReason) console.warn(`skipping the Slurm pipeline tests: ${skipReason}`)

describe.skipIf(skipReason !== undefined)('seldpipe run --executor slurm on the loopback cluster', () => {
  let project: SlurmProject
  beforeEach(async () => {
    project = await SlurmProject.create()
  })
  afterEach(async () => {
    await project.remove()
  })

  it('runs every instance of the matrix as a Slurm job in DAG order, caches them all, and a rerun submits nothing', async () => {
    const first = await project.run()
    expect(first.exitCode, first.all).toBe(0)
    expect(first.all).toContain('8 ran')
    const executed = await project.runs()
    expect([...executed].sort()).toEqual([...STEPS].sort())
    // Each step starts only once its own inputs are done: combine-x-y needs gen-x alone (so combine-1-* may run before
    // gen-2), report-y needs combine-1-y and combine-2-y.
    for (const x of ['1', '2']) for (const y of ['a', 'b']) expect(executed.indexOf(`combine-${x}-${y}`)).toBeGreaterThan(executed.indexOf(`gen-${x}`))
    for (const y of ['a', 'b']) expect(executed.indexOf(`report-${y}`)).toBeGreaterThan(Math.max(executed.indexOf(`combine-1-${y}`), executed.indexOf(`combine-2-${y}`)))
    expect(await readFile(path.join(project.dir, 'out', 'report-a.txt'), 'utf8')).toBe('report-a <- combine-1-a <- gen-1 <- combine-2-a <- gen-2\n')
    expect(await project.submitted()).toHaveLength(8)
    expect(await readFile(path.join(project.dir, 'cache', 'logs', 'combine@x=2,y=b.log'), 'utf8')).toContain('combine-2-b: reading 1 inputs')
    expect((await project.status()).map((row) => row.state)).toEqual(Array(8).fill('up to date'))

    const again = await project.run()
    expect(again.exitCode, again.all).toBe(0)
    expect(again.all).toContain('0 ran, 0 restored, 8 up to date')
    expect(await project.submitted()).toHaveLength(8)
    expect(await project.runs()).toHaveLength(8)
  })

  it('reports a failing job with the end of its stderr and its log, runs what does not depend on it, and reruns only that part', async () => {
    await writeFile(path.join(project.dir, 'fail-combine-2-b'), '')
    const failed = await project.run()
    expect(failed.exitCode).toBe(1)
    expect(failed.all).toContain('failed combine@x=2,y=b: exit code 4')
    expect(failed.all).toContain('combine-2-b: cannot combine, the input is bad')
    expect(failed.all).toContain(path.join('cache', 'logs', 'combine@x=2,y=b.log'))
    expect(failed.all).toMatch(/not run report@y=b/)
    expect(await readFile(path.join(project.dir, 'cache', 'logs', 'combine@x=2,y=b.log'), 'utf8')).toContain('combine-2-b: cannot combine, the input is bad')
    expect([...await project.runs()].sort()).toEqual(STEPS.filter((step) => step !== 'report-b').sort())

    await rm(path.join(project.dir, 'fail-combine-2-b'))
    const fixed = await project.run()
    expect(fixed.exitCode, fixed.all).toBe(0)
    expect(fixed.all).toContain('2 ran, 0 restored, 6 up to date')
    expect((await project.runs()).slice(7)).toEqual(['combine-2-b', 'report-b'])
  })
})
