import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {PipelineError} from '../../src/pipeline/spec/errors.js'
import {applyMatrixOverrides, applyParamOverrides, loadPipeline, lookupParam} from '../../src/pipeline/spec/pipeline-file.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

async function loadError(pipeline: string, params = 'a: {b: 1}\n'): Promise<string> {
  const dir = tempDir({'pipeline.yaml': pipeline, 'params.yaml': params})
  const error = await loadPipeline(join(dir, 'pipeline.yaml')).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(PipelineError)
  return (error as Error).message.replace(dir + '/', '')
}

describe('loadPipeline', () => {
  it('names the location of a schema violation', async () => {
    const text = ['version: 1', 'stages:', '  train:', '    cmd: node x', '    deps:', '      - a', '      - b', '      - 3', ''].join('\n')
    expect(await loadError(text)).toMatch(/pipeline\.yaml:8:9: stages\.train\.deps\[2\]: must be string$/)
  })

  it('rejects unknown keys, a wrong version and bad matrix values', async () => {
    expect(await loadError('version: 1\nstages:\n  s: {cmd: x, dep: [a]}\n')).toMatch(/stages\.s\.dep: unknown key/)
    expect(await loadError('version: 2\nstages:\n  s: {cmd: x}\n')).toMatch(/pipeline\.yaml:1:10: version: must be 1/)
    expect(await loadError('version: 1\nmatrix: {ds: ["a b"]}\nstages:\n  s: {cmd: x}\n')).toMatch(/matrix\.ds\[0\]: must match/)
    expect(await loadError('version: 1\nstages:\n  s: {cmd: x, resources: {mem: lots}}\n')).toMatch(/stages\.s\.resources\.mem: must match/)
  })

  it('reads an out as a path or as {path, cache}, and names what is wrong in the mapping form', async () => {
    const dir = tempDir({'pipeline.yaml': 'version: 1\nstages:\n  s:\n    cmd: x\n    outs:\n      - a.txt\n      - {path: b.zip, cache: false}\n      - {path: c.txt, cache: true}\n'})
    const stage = (await loadPipeline(join(dir, 'pipeline.yaml'))).stages[0]
    expect(stage.outs).toEqual(['a.txt', 'b.zip', 'c.txt'])
    expect(stage.uncachedOuts).toEqual(['b.zip'])
    const out = (text: string) => loadError(`version: 1\nstages:\n  s:\n    cmd: x\n    outs:\n      - ${text}\n`)
    expect(await out('{path: a.txt, cache: nope}')).toMatch(/pipeline\.yaml:6:\d+: stages\.s\.outs\[0\]\.cache: must be boolean$/)
    expect(await out('{path: a.txt, keep: true}')).toMatch(/pipeline\.yaml:6:\d+: stages\.s\.outs\[0\]\.keep: unknown key$/)
    expect(await out('{cache: false}')).toMatch(/stages\.s\.outs\[0\]: must have required property 'path'$/)
    expect(await out('5')).toMatch(/stages\.s\.outs\[0\]: must be string$/)
  })

  it('reports YAML syntax errors with line and column, with a hint for ${...} in flow lists', async () => {
    expect(await loadError('version: 1\nstages:\n  s: {cmd: x\n')).toMatch(/^pipeline\.yaml:\d+:\d+: invalid YAML/)
    expect(await loadError('version: 1\nmatrix: {d: [a]}\nstages:\n  s:\n    cmd: x\n    outs: [w/${d}/x]\n')).toMatch(/pipeline\.yaml:6:\d+: .*quote values holding \$\{\.\.\.\}/)
  })

  it('rejects a listed parameter missing from the params files, and a missing params file', async () => {
    expect(await loadError('version: 1\nparams: params.yaml\nstages:\n  s: {cmd: x, params: [a.c]}\n')).toMatch(
      /pipeline\.yaml:4:\d+: stages\.s\.params\[0\]: unknown parameter 'a\.c' \(not in params\.yaml\)/,
    )
    expect(await loadError('version: 1\nparams: [params.yaml, other.yaml]\nstages:\n  s: {cmd: x}\n')).toMatch(/params\[1\]: params file other\.yaml not found/)
  })

  it('merges params files in order and applies overrides', async () => {
    const dir = tempDir({
      'pipeline.yaml': 'version: 1\nparams: [p1.yaml, p2.yaml]\nmatrix: {ds: [a, b], ov: [1]}\nstages:\n  s: {cmd: x, params: [t]}\n',
      'p1.yaml': 't: {lr: 0.1, epochs: 3}\n',
      'p2.yaml': 't: {epochs: 4}\n',
    })
    const pipeline = await loadPipeline(join(dir, 'pipeline.yaml'), {matrix: ['ds=c,d'], set: ['t.lr=0.5']})
    expect(pipeline.params).toEqual({t: {lr: 0.5, epochs: 4}})
    expect(pipeline.matrix).toEqual({ds: ['c', 'd'], ov: ['1']})
    expect(pipeline.root).toBe(dir)
  })

  it('layers --params files (presets) over the pipeline\'s own, before --set, and names a missing one', async () => {
    const dir = tempDir({
      'pipeline.yaml': 'version: 1\nparams: p1.yaml\nstages:\n  s: {cmd: x, params: [t]}\n',
      'p1.yaml': 't: {lr: 0.1, epochs: 3, sizes: [1, 2]}\n',
      'preset.yaml': 't: {epochs: 9, sizes: [7]}\n',
    })
    const pipeline = await loadPipeline(join(dir, 'pipeline.yaml'), {params: [join(dir, 'preset.yaml')], set: ['t.lr=0.5']})
    expect(pipeline.params).toEqual({t: {lr: 0.5, epochs: 9, sizes: [7]}})
    const missing = await loadPipeline(join(dir, 'pipeline.yaml'), {params: [join(dir, 'nope.yaml')]}).catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(PipelineError)
    expect((missing as Error).message).toContain('nope.yaml')
  })
})

describe('overrides', () => {
  it('--matrix replaces named keys and refuses unknown keys and bad values', () => {
    expect(applyMatrixOverrides({a: ['1'], b: ['x']}, ['b=y,z'])).toEqual({a: ['1'], b: ['y', 'z']})
    expect(() => applyMatrixOverrides({a: ['1']}, ['c=1'])).toThrow(/unknown matrix key 'c' \(known: a\)/)
    expect(() => applyMatrixOverrides({a: ['1']}, ['a=1,x/y'])).toThrow(/value 'x\/y' must match/)
    expect(() => applyMatrixOverrides({a: ['1']}, ['a'])).toThrow(/expected key=value/)
  })

  it('--set parses YAML scalars and refuses unknown parameters', () => {
    const params = {train: {epochs: 40, backend: 'auto'}}
    const changed = applyParamOverrides(params, ['train.epochs=5', 'train.backend=wasm'], ['params.yaml'])
    expect(changed).toEqual({train: {epochs: 5, backend: 'wasm'}})
    expect(params.train.epochs).toBe(40)
    expect(() => applyParamOverrides(params, ['train.epoch=5'], ['params.yaml'])).toThrow(/unknown parameter 'train\.epoch'/)
  })

  it('looks up dotted keys, whole subtrees included', () => {
    expect(lookupParam({a: {b: {c: 1}}}, 'a.b')).toEqual({found: true, value: {c: 1}})
    expect(lookupParam({a: {b: 1}}, 'a.b.c')).toEqual({found: false})
  })
})
