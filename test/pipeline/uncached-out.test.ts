import {existsSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {sha256} from '../../src/pipeline/state/hash.js'
import {cli, ensureBuilt, nodeEval} from './cli.js'
import {ranSince} from './fixture.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

// fetch writes big.bin (uncached) and note.txt (cached); it logs whether big.bin was already there when it started,
// and reuses it when present, as a download stage does. use reads big.bin.
const fetch = nodeEval(
  "const[n]=process.argv.slice(1),fs=require('fs');fs.appendFileSync('runs.log','fetch-'+(fs.existsSync('big.bin')?'kept':'fresh')+'\\n');if(!fs.existsSync('big.bin'))fs.writeFileSync('big.bin','BIG'.repeat(n));fs.writeFileSync('note.txt','n='+n)",
  '${n}',
)
const use = nodeEval("const[fs]=[require('fs')];fs.appendFileSync('runs.log','use\\n');fs.writeFileSync('used.txt',fs.readFileSync('big.bin','utf8').toLowerCase())")

const pipeline = (bigOut: string) => `version: 1
params: params.yaml
stages:
  fetch:
    cmd: ${fetch}
    params: [n]
    outs:
      - ${bigOut}
      - note.txt
  use:
    cmd: ${use}
    deps: [big.bin]
    outs: [used.txt]
`

const project = () => tempDir({'pipeline.yaml': pipeline('{path: big.bin, cache: false}'), 'params.yaml': 'n: 3\nunrelated: 1\n'})

function storedObjects(dir: string): string[] {
  const objects = join(dir, 'cache', 'objects')
  return readdirSync(objects, {recursive: true, encoding: 'utf8'}).filter((name) => /^[0-9a-f]{2}\/[0-9a-f]+$/.test(name.replaceAll('\\', '/'))).map((name) => name.replace(/[\\/]/, ''))
}

describe('an out with cache: false', () => {
  it('is recorded by hash and drives its downstream, but cache/objects holds no copy of it', async () => {
    const dir = project()
    const ran = ranSince(dir)
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect(ran()).toEqual(['fetch-fresh', 'use'])
    const objects = storedObjects(dir)
    expect(objects).toContain(sha256(readFileSync(join(dir, 'note.txt'))))
    expect(objects).toContain(sha256(readFileSync(join(dir, 'used.txt'))))
    expect(objects).not.toContain(sha256(readFileSync(join(dir, 'big.bin'))))

    // Unchanged: nothing runs. An unlisted parameter is not in the key: still nothing runs.
    expect((await cli(dir, 'run')).stdout).toContain('0 ran, 0 restored, 2 up to date')
    writeFileSync(join(dir, 'params.yaml'), 'n: 3\nunrelated: 2\n')
    expect((await cli(dir, 'run')).stdout).toContain('0 ran, 0 restored, 2 up to date')
    expect(ran()).toEqual([])
  })

  it('when deleted, is not restorable: status says so and run reruns its stage (a cached out is restored instead)', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await cli(dir, 'run')
    ran()
    rmSync(join(dir, 'big.bin'))
    rmSync(join(dir, 'note.txt'))
    const status = (await cli(dir, 'status')).stdout
    expect(status).toMatch(/stale\s+fetch\s+out missing: big\.bin, note\.txt; not cached \(cache: false\), so not restorable, must rerun: big\.bin/)
    const second = await cli(dir, 'run')
    expect(second.exitCode).toBe(0)
    expect(ran()).toEqual(['fetch-fresh'])
    expect(second.stdout).toContain('1 ran, 0 restored, 1 up to date') // same content: use's key is unchanged

    // With the cached out alone gone, it is restored without running.
    rmSync(join(dir, 'note.txt'))
    expect((await cli(dir, 'run')).stdout).toContain('0 ran, 1 restored, 1 up to date')
    expect(ran()).toEqual([])
  })

  it('is left in place when its stage reruns, while cached outs are cleared; a changed content reruns downstream', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await cli(dir, 'run')
    ran()
    writeFileSync(join(dir, 'params.yaml'), 'n: 4\nunrelated: 1\n')
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect(ran()).toEqual(['fetch-kept', 'use']) // use reruns: its upstream's key changed
    expect(readFileSync(join(dir, 'note.txt'), 'utf8')).toBe('n=4')
    expect(readFileSync(join(dir, 'big.bin'), 'utf8')).toBe('BIG'.repeat(3))

    writeFileSync(join(dir, 'big.bin'), 'OTHER')
    expect((await cli(dir, 'status')).stdout).toMatch(/stale\s+fetch\s+out changed: big\.bin.*must rerun/)
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect(ran()).toEqual(['fetch-kept', 'use'])
    expect(readFileSync(join(dir, 'used.txt'), 'utf8')).toBe('other')
  })

  it('as a plain out is copied into cache/objects and restored; the schema refuses unknown out options', async () => {
    const dir = tempDir({'pipeline.yaml': pipeline('big.bin'), 'params.yaml': 'n: 3\n'})
    await cli(dir, 'run')
    expect(storedObjects(dir)).toContain(sha256(readFileSync(join(dir, 'big.bin'))))
    rmSync(join(dir, 'big.bin'))
    expect((await cli(dir, 'run')).stdout).toContain('0 ran, 1 restored, 1 up to date')
    expect(existsSync(join(dir, 'big.bin'))).toBe(true)

    writeFileSync(join(dir, 'pipeline.yaml'), pipeline('{path: big.bin, cache: no-thanks}'))
    const bad = await cli(dir, 'run')
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/pipeline\.yaml:\d+:\d+: stages\.fetch\.outs\[0\]\.cache: must be boolean/)
  })
})
