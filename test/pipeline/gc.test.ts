import {existsSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Cache} from '../../src/pipeline/state/cache.js'
import {RunRecords} from '../../src/pipeline/state/records.js'
import {collectReferences, planGc, type ReferenceSource} from '../../src/pipeline/state/gc.js'
import {cli, ensureBuilt} from './cli.js'
import {projectFiles, ranSince} from './fixture.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const objectCount = (dir: string) => readdirSync(join(dir, 'cache', 'objects'), {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile()).length

/** A project run with its defaults, with p.scale=5, and over a third dataset c. */
async function projectWithVariants(): Promise<string> {
  const dir = tempDir({...projectFiles(), 'raw/c.txt': 'C'})
  for (const args of [[], ['--set', 'p.scale=5'], ['--matrix', 'ds=a,b,c']]) expect((await cli(dir, 'run', ...args)).exitCode).toBe(0)
  // Every run is recorded, and a recorded run keeps its results: nothing is unreferenced yet.
  expect((await cli(dir, 'gc', '--dry-run')).stdout).toContain('would free 0 B in 0 files')
  return dir
}

/** Drops the run records (as pruning experiments would), so only the expansion references results. */
async function dropRunRecords(dir: string): Promise<void> {
  const cache = new Cache(join(dir, 'cache'))
  try {
    const records = new RunRecords(cache)
    for (const record of records.all()) await records.remove(record.key)
  } finally {
    await cache.close()
  }
}

describe('seldpipe gc', () => {
  it('--dry-run lists what nothing references and the bytes, and deletes nothing', async () => {
    const dir = await projectWithVariants()
    await dropRunRecords(dir)
    const before = objectCount(dir)
    const result = await cli(dir, 'gc', '--dry-run')
    expect(result.exitCode).toBe(0)
    // The p.scale=5 results of both datasets, and everything of dataset c.
    for (const id of ['prep@ds=a', 'feat@ds=a', 'report@ds=a', 'prep@ds=b', 'prep@ds=c']) expect(result.stdout).toMatch(new RegExp(`would remove result \\w+ of ${id}\\n`))
    expect(result.stdout.match(/would remove result/g)).toHaveLength(6 + 3)
    expect(result.stdout).toContain('would remove record of prep@ds=c (not in this expansion)')
    expect(result.stdout).toMatch(/would remove log .*prep@ds=c\.log/)
    expect(result.stdout).toMatch(/would free \d+(\.\d+)? k?B in \d+ files; nothing deleted \(--dry-run\)/)
    expect(objectCount(dir)).toBe(before)
    expect(existsSync(join(dir, 'cache', 'logs', 'prep@ds=c.log'))).toBe(true)
    expect((await cli(dir, 'run', '--set', 'p.scale=5')).stdout).toContain('0 ran, 6 restored')
  })

  it('deletes unreferenced results, records and logs; the current results still restore everything without running', async () => {
    const dir = await projectWithVariants()
    await dropRunRecords(dir)
    const ran = ranSince(dir)
    ran()
    const before = objectCount(dir)
    const result = await cli(dir, 'gc')
    expect(result.exitCode).toBe(0)
    const removed = Number(/removing (\d+) objects/.exec(result.stdout)![1])
    expect(removed).toBeGreaterThan(0)
    expect(objectCount(dir)).toBe(before - removed)
    expect(result.stdout).toMatch(/freed \S+ \S+ in \d+ files; cache\/objects holds \d+ files/)
    expect(existsSync(join(dir, 'cache', 'logs', 'prep@ds=c.log'))).toBe(false)
    expect(existsSync(join(dir, 'cache', 'logs', 'prep@ds=a.log'))).toBe(true)
    expect((await cli(dir, 'gc', '--dry-run')).stdout).toContain('would free 0 B in 0 files')

    rmSync(join(dir, 'work'), {recursive: true})
    for (const name of ['report-a.txt', 'report-b.txt']) rmSync(join(dir, name))
    const restored = await cli(dir, 'run')
    expect(restored.stdout).toContain('0 ran, 6 restored, 0 up to date')
    expect(ran()).toEqual([])
    // The p.scale=5 results are gone: that variant runs again.
    expect((await cli(dir, 'run', '--set', 'p.scale=5')).stdout).toContain('6 ran')
    expect(ran()).toEqual(['feat-a', 'feat-b', 'prep-a', 'prep-b', 'report-a', 'report-b'])
  })

  it('keeps what any reference source holds, such as recorded experiments', async () => {
    const dir = await projectWithVariants()
    const cache = new Cache(join(dir, 'cache'))
    try {
      const records = cache.keyRecords()
      const [experimentKey] = [...records].find(([, record]) => record.id === 'prep@ds=c')!
      const pipelineSource: ReferenceSource = {name: 'the pipeline', collect: async () => ({keys: [], instances: []})}
      const experiments: ReferenceSource = {name: 'experiments', collect: async () => ({keys: [experimentKey]})}
      const withExperiments = planGc(cache, await collectReferences(cache, [pipelineSource, experiments]))
      const without = planGc(cache, await collectReferences(cache, [pipelineSource]))
      expect(without.keys.map(({key}) => key)).toContain(experimentKey)
      expect(withExperiments.keys.map(({key}) => key)).not.toContain(experimentKey)
      expect(withExperiments.objects.length).toBe(without.objects.length - records.get(experimentKey)!.outs.length)
    } finally {
      await cache.close()
    }
  })

  it('--keep-last N forgets all but the newest N recorded runs of each cell, and frees what only they referenced', async () => {
    const dir = await projectWithVariants()
    const readRecords = async () => {
      const cache = new Cache(join(dir, 'cache'))
      try {
        return new RunRecords(cache).all()
      } finally {
        await cache.close()
      }
    }
    const before = await readRecords()
    const cellOf = (record: {stage: string; vars: Record<string, string>}) => `${record.stage} ${JSON.stringify(record.vars)}`
    const newest = new Map<string, string>()
    for (const record of before) {
      const held = before.find((other) => other.key === newest.get(cellOf(record)))
      if (!held || record.finishedAt > held.finishedAt) newest.set(cellOf(record), record.key)
    }
    expect(newest.size).toBeLessThan(before.length)

    const dry = await cli(dir, 'gc', '--keep-last', '1', '--dry-run')
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout.match(/would remove recorded run \w+ of /g)).toHaveLength(before.length - newest.size)
    expect(await readRecords()).toHaveLength(before.length)

    // The newest runs are the p.scale=5 ones: with that expansion, the forgotten default runs' results are unreferenced.
    const result = await cli(dir, 'gc', '--keep-last', '1', '--set', 'p.scale=5')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).not.toContain('freed 0 B')
    expect((await readRecords()).map((record) => record.key).sort()).toEqual([...newest.values()].sort())
    // The kept runs' results are all still in the cache: nothing runs (the work folder holds the defaults' outs, so
    // they are restored).
    expect((await cli(dir, 'run', '--set', 'p.scale=5')).stdout).toMatch(/\b0 ran, 6 restored/)
    expect((await cli(dir, 'gc', '--keep-last', '0')).exitCode).toBe(2)
  })
})
