import {appendFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {instanceKey} from '../../src/pipeline/run/assess.js'
import {CodeClosures, moduleSpecifiers, nodeMajor, nodeScriptOf, NOT_INSTALLED} from '../../src/pipeline/state/code-closure.js'
import type {Instance} from '../../src/pipeline/graph/graph.js'
import type {MemoEntry} from '../../src/pipeline/state/hash.js'
import {cli, ensureBuilt} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const fixturePackage = (version: string) => JSON.stringify({name: 'fixture-pkg', version, type: 'module', main: 'index.js'})

// A stage script that loads code every way the closure follows, and a module nothing loads.
const project = () =>
  tempDir({
    'pipeline.yaml': `version: 1
stages:
  make:
    cmd: node --no-warnings scripts/main.js out.txt
    outs: [out.txt]
`,
    'scripts/main.js': `import {readFileSync} from 'node:fs'
import {helper} from './lib/helper.js'
import version from 'fixture-pkg'
const worker = new URL('./lib/worker.js', import.meta.url)
const {late} = await import('./lib/late.js')
const name = 'unused'
await import('./lib/' + name + '.js').catch(() => {})
import('fs').then((fs) => fs.writeFileSync(process.argv[2], [helper(), late, version, readFileSync(worker, 'utf8').length].join(' ')))
`,
    'scripts/lib/helper.js': `export const helper = () => 'helped'\n`,
    'scripts/lib/late.js': `export const late = 'late'\n`,
    'scripts/lib/worker.js': `// a worker script\n`,
    'scripts/lib/unused.js': `export const unused = 1\n`,
    'node_modules/fixture-pkg/package.json': fixturePackage('1.0.0'),
    'node_modules/fixture-pkg/index.js': `export default 'pkg'\n`,
  })

function mapMemo() {
  const entries = new Map<string, MemoEntry>()
  return {get: (path: string) => entries.get(path), set: (path: string, entry: MemoEntry) => void entries.set(path, entry)}
}

interface StatusRow {
  id: string
  state: string
  reasons: {kind: string; path?: string; key?: string; old?: unknown; new?: unknown; text: string}[]
}

async function status(dir: string): Promise<StatusRow> {
  const result = await cli(dir, 'status', '--json')
  expect(result.exitCode, result.stderr).toBe(0)
  return (JSON.parse(result.stdout) as StatusRow[])[0]
}

describe('nodeScriptOf', () => {
  it('finds the script of a node command past its options, and none for other commands or node -e', () => {
    expect(nodeScriptOf(['node', 'dist/stages/train.js', '--x', '1'])).toBe('dist/stages/train.js')
    expect(nodeScriptOf(['node', '--max-old-space-size=4096', '-r', 'preload.js', 'run.js'])).toBe('run.js')
    expect(nodeScriptOf(['node', '-e', 'console.log(1)'])).toBeUndefined()
    expect(nodeScriptOf(['python', 'train.py'])).toBeUndefined()
  })
})

describe('moduleSpecifiers', () => {
  it('lists static imports, literal dynamic imports and new URL workers, not computed imports', () => {
    const source = `import a from './a.js'\nexport {b} from "./b.js"\nconst w = new URL('./w.js', import.meta.url)\nawait import('./c.js')\nawait import('./' + x)\nimport.meta.url`
    expect(moduleSpecifiers('/x/main.js', source).sort()).toEqual(['./a.js', './b.js', './c.js', './w.js'])
    expect(moduleSpecifiers('/x/main.cjs', `const fs = require('fs'); const a = require('./a.cjs')`).sort()).toEqual(['./a.cjs', 'fs'])
    expect(moduleSpecifiers('/x/main.js', `const a = require('./a.js')`)).toEqual(['./a.js'])
    expect(moduleSpecifiers('/x/broken.js', `import {a from './a.js'`)).toEqual([])
  })
})

describe('the code closure of a node script', () => {
  it('holds the script, its imports, literal dynamic imports and workers, packages with versions, and the Node major', async () => {
    const dir = project()
    const key = await new CodeClosures(dir, mapMemo()).of('scripts/main.js')
    expect(Object.keys(key!.modules)).toEqual(['scripts/lib/helper.js', 'scripts/lib/late.js', 'scripts/lib/worker.js', 'scripts/main.js'])
    expect(key!.packages).toEqual({'fixture-pkg': '1.0.0'})
    expect(key!.node).toBe(Number(process.versions.node.split('.')[0]))
    expect(await new CodeClosures(dir, mapMemo()).of('scripts/missing.js')).toBeUndefined()
  })

  it('memoises the imports of unchanged modules and reparses a module that changed', async () => {
    const dir = project()
    const memo = mapMemo()
    await new CodeClosures(dir, memo).of('scripts/main.js')
    expect(memo.get(`imports\0${join(dir, 'scripts/lib/helper.js')}`)?.hash).toBe('[]')
    writeFileSync(join(dir, 'scripts/lib/helper.js'), `import './unused.js'\nexport const helper = () => 'helped'\n`)
    const key = await new CodeClosures(dir, memo).of('scripts/main.js')
    expect(Object.keys(key!.modules)).toContain('scripts/lib/unused.js')
  })

  it('finds the packages of a linked code folder where Node finds them: beside its real location', async () => {
    const real = project()
    const linked = tempDir()
    symlinkSync(join(real, 'scripts'), join(linked, 'scripts'))
    const key = await new CodeClosures(linked, mapMemo()).of('scripts/main.js')
    expect(key!.packages).toEqual({'fixture-pkg': '1.0.0'})
    expect(Object.keys(key!.modules)).toContain('scripts/lib/helper.js')
  })

  it('records a package that is not installed as such', async () => {
    const dir = tempDir({'main.js': `import 'nowhere-pkg'\n`})
    expect((await new CodeClosures(dir, mapMemo()).of('main.js'))!.packages).toEqual({'nowhere-pkg': NOT_INSTALLED})
  })

  it('puts the Node major version in the key', () => {
    const instance = {argv: ['node', 'a.js'], params: {}, outs: ['o']} as unknown as Instance
    const code = {modules: {'a.js': 'h'}, packages: {}, node: nodeMajor('20.19.0')}
    expect(instanceKey(instance, {}, {}, code)).toBe(instanceKey(instance, {}, {}, {...code, node: nodeMajor('20.5.1')}))
    expect(instanceKey(instance, {}, {}, code)).not.toBe(instanceKey(instance, {}, {}, {...code, node: nodeMajor('22.1.0')}))
  })
})

describe('a node stage without listed code deps', () => {
  it('goes stale when a module it loads, a worker or a package version changes, and not for a module it does not load', async () => {
    const dir = project()
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect(await status(dir)).toMatchObject({state: 'up to date'})

    appendFileSync(join(dir, 'scripts/lib/unused.js'), '// edited\n')
    expect(await status(dir)).toMatchObject({state: 'up to date'})

    appendFileSync(join(dir, 'scripts/lib/worker.js'), '// edited\n')
    expect(await status(dir)).toMatchObject({state: 'stale', reasons: [{kind: 'code changed', path: 'scripts/lib/worker.js', text: 'code changed: scripts/lib/worker.js'}]})
    expect((await cli(dir, 'run')).stdout).toContain('1 ran')

    appendFileSync(join(dir, 'scripts/lib/late.js'), '// edited\n')
    expect((await status(dir)).reasons.map((reason) => reason.text)).toEqual(['code changed: scripts/lib/late.js'])
    expect((await cli(dir, 'run')).stdout).toContain('1 ran')

    writeFileSync(join(dir, 'node_modules/fixture-pkg/package.json'), fixturePackage('1.0.1'))
    expect(await status(dir)).toMatchObject({
      state: 'stale',
      reasons: [{kind: 'package changed', key: 'fixture-pkg', old: '1.0.0', new: '1.0.1', text: 'package changed: fixture-pkg "1.0.0" → "1.0.1"'}],
    })
  })

  it('with track_code: false, leaves the code out of the key', async () => {
    const dir = project()
    writeFileSync(join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  make:\n    cmd: node scripts/main.js out.txt\n    track_code: false\n    outs: [out.txt]\n')
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    appendFileSync(join(dir, 'scripts/lib/helper.js'), '// edited\n')
    writeFileSync(join(dir, 'node_modules/fixture-pkg/package.json'), fixturePackage('2.0.0'))
    expect(await status(dir)).toMatchObject({state: 'up to date'})
  })
})
