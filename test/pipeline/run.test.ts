import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt} from './cli.js'
import {projectFiles, ranSince} from './fixture.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const project = () => tempDir(projectFiles())

describe('seldpipe run', () => {
  it('runs everything once, then skips it all on rerun', async () => {
    const dir = project()
    const ran = ranSince(dir)
    const first = await cli(dir, 'run', '--jobs', '2')
    expect(first.exitCode).toBe(0)
    expect(ran()).toEqual(['feat-a', 'feat-b', 'prep-a', 'prep-b', 'report-a', 'report-b'])
    expect(readFileSync(join(dir, 'report-a.txt'), 'utf8')).toBe('A*1A*1')
    const second = await cli(dir, 'run', '--jobs', '2')
    expect(second.exitCode).toBe(0)
    expect(ran()).toEqual([])
    expect(second.stdout).toContain('0 ran, 0 restored, 6 up to date')
    const status = JSON.parse((await cli(dir, 'status', '--json')).stdout) as {state: string}[]
    expect(status.map((row) => row.state)).toEqual(Array(6).fill('up to date'))
  })

  it('after a dep edit reruns only that instance and its downstream, and status says which path changed', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await cli(dir, 'run', '--jobs', '2')
    ran()
    writeFileSync(join(dir, 'raw/a.txt'), 'A2')
    const status = (await cli(dir, 'status')).stdout
    expect(status).toMatch(/stale\s+prep@ds=a\s+dep changed: raw\/a\.txt/)
    expect(status).toMatch(/stale\s+feat@ds=a\s+upstream stale: prep@ds=a/)
    expect(status).toMatch(/up to date\s+prep@ds=b/)
    expect((await cli(dir, 'run', '--jobs', '2')).exitCode).toBe(0)
    expect(ran()).toEqual(['feat-a', 'prep-a', 'report-a'])
    expect(readFileSync(join(dir, 'report-a.txt'), 'utf8')).toBe('A2*1A2*1')
  })

  it('after a param edit reruns only the stages listing it (and their downstream); --set caches like a param', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await cli(dir, 'run', '--jobs', '2')
    ran()
    writeFileSync(join(dir, 'params.yaml'), 'p: {scale: 1}\nf: {n: 3}\n')
    const status = (await cli(dir, 'status')).stdout
    expect(status).toContain('param changed: f.n 2 → 3')
    expect(status).toMatch(/up to date\s+prep@ds=a/)
    expect((await cli(dir, 'run', '--jobs', '2')).exitCode).toBe(0)
    expect(ran()).toEqual(['feat-a', 'feat-b', 'report-a', 'report-b'])

    const dry = await cli(dir, 'run', '--dry-run', '--set', 'p.scale=5')
    expect(dry.stdout).toContain('would run prep@ds=a: cmd changed; param changed: p.scale 1 → 5')
    expect(ran()).toEqual([])
    expect((await cli(dir, 'run', '--jobs', '2', '--set', 'p.scale=5')).exitCode).toBe(0)
    expect(ran()).toEqual(['feat-a', 'feat-b', 'prep-a', 'prep-b', 'report-a', 'report-b'])
    expect(readFileSync(join(dir, 'report-b.txt'), 'utf8')).toBe('B*5B*5B*5')
    // Back to the file's value: every result is still in the cache.
    const back = await cli(dir, 'run', '--jobs', '2')
    expect(ran()).toEqual([])
    expect(back.stdout).toContain('6 restored')
    expect(readFileSync(join(dir, 'report-b.txt'), 'utf8')).toBe('B*1B*1B*1')
  })

  it('restores deleted or edited outs from the cache without running; --force reruns', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await cli(dir, 'run', '--jobs', '2')
    ran()
    const before = readFileSync(join(dir, 'work/a/feat/x.txt'), 'utf8')
    rmSync(join(dir, 'work/a/feat'), {recursive: true})
    writeFileSync(join(dir, 'report-b.txt'), 'tampered')
    const status = (await cli(dir, 'status')).stdout
    expect(status).toMatch(/stale\s+feat@ds=a\s+out missing: work\/a\/feat/)
    expect(status).toMatch(/stale\s+report@ds=b\s+out changed: report-b\.txt/)
    expect(status).toMatch(/up to date\s+report@ds=a/)
    const result = await cli(dir, 'run', '--jobs', '2')
    expect(result.stdout).toContain('0 ran, 2 restored, 4 up to date')
    expect(ran()).toEqual([])
    expect(readFileSync(join(dir, 'work/a/feat/x.txt'), 'utf8')).toBe(before)
    expect(readFileSync(join(dir, 'report-b.txt'), 'utf8')).toBe('B*1B*1')
    expect((await cli(dir, 'run', '--jobs', '2', '--force')).stdout).toContain('6 ran')
    expect(ran()).toHaveLength(6)
  })
})
