import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildGraph, cartesian, globMatches, interpolate, isWithin} from '../../src/pipeline/graph/graph.js'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

async function graphOf(pipeline: string, params = '{}\n', matrix: string[] = []) {
  const dir = tempDir({'pipeline.yaml': pipeline, 'params.yaml': params})
  return buildGraph(await loadPipeline(join(dir, 'pipeline.yaml'), {matrix}))
}

const threeStages = `
version: 1
params: params.yaml
matrix: {dataset: [synth-a, real], ov: [1, 2], split: [1, 2, 3]}
stages:
  synth:
    only: {dataset: ["synth-*"]}
    cmd: gen --out data/\${dataset}/ov\${ov}.zip
    outs: ["data/\${dataset}/ov\${ov}.zip"]
  unzip:
    cmd: unzip data/\${dataset}/ov\${ov}.zip
    deps: ["data/\${dataset}/ov\${ov}.zip"]
    outs: ["work/\${dataset}/ov\${ov}"]
  train:
    cmd: train --config \${train} --wav work/\${dataset}/ov\${ov}/wav --split \${split}
    deps: ["work/\${dataset}/ov\${ov}/wav"]
    params: [train]
    outs: ["model/\${dataset}/ov\${ov}_\${split}"]
`

describe('buildGraph', () => {
  it('instantiates each stage once per value of the matrix keys it references, filtered by only', async () => {
    const graph = await graphOf(threeStages, 'train: {lr: 0.1, layers: [8, 8]}\n')
    const count = (stage: string) => graph.instances.filter((instance) => instance.stage.name === stage).length
    expect([count('synth'), count('unzip'), count('train')]).toEqual([2, 4, 12])
    const ids = graph.instances.map((instance) => instance.id)
    expect(ids).toContain('synth@dataset=synth-a,ov=2')
    expect(ids).not.toContain('synth@dataset=real,ov=1')
  })

  it('links deps inside an out to its producer, and leaves unproduced deps as plain files', async () => {
    const graph = await graphOf(threeStages, 'train: {lr: 0.1}\n')
    const byId = new Map(graph.instances.map((instance) => [instance.id, instance]))
    const train = byId.get('train@dataset=synth-a,ov=1,split=3')!
    expect(train.upstream.map((instance) => instance.id)).toEqual(['unzip@dataset=synth-a,ov=1'])
    expect(train.producedBy.get('work/synth-a/ov1/wav')).toMatchObject({out: 'work/synth-a/ov1'})
    expect(byId.get('unzip@dataset=real,ov=1')!.upstream).toEqual([])
    expect(byId.get('unzip@dataset=synth-a,ov=1')!.upstream.map((instance) => instance.id)).toEqual(['synth@dataset=synth-a,ov=1'])
    const order = graph.instances.map((instance) => instance.id)
    for (const instance of graph.instances) {
      for (const parent of instance.upstream) expect(order.indexOf(parent.id)).toBeLessThan(order.indexOf(instance.id))
    }
  })

  it('keeps an interpolated mapping as one compact JSON argument', async () => {
    const graph = await graphOf(threeStages, 'train: {lr: 0.1, name: two words}\n', ['dataset=real', 'ov=1', 'split=1'])
    const train = graph.instances.find((instance) => instance.stage.name === 'train')!
    expect(train.argv).toEqual(['train', '--config', '{"lr":0.1,"name":"two words"}', '--wav', 'work/real/ov1/wav', '--split', '1'])
    expect(train.params).toEqual({train: {lr: 0.1, name: 'two words'}})
  })

  it('names a dependency cycle', async () => {
    const text = 'version: 1\nstages:\n  a: {cmd: x, deps: [b.txt], outs: [a.txt]}\n  b: {cmd: y, deps: [a.txt], outs: [b.txt]}\n'
    await expect(graphOf(text)).rejects.toThrow(/dependency cycle: (a -> b -> a|b -> a -> b)/)
  })

  it('refuses two instances declaring the same out, and outs outside the pipeline folder', async () => {
    const same = 'version: 1\nmatrix: {d: [x, y]}\nstages:\n  a: {cmd: "x ${d}", outs: [shared.txt]}\n'
    await expect(graphOf(same)).rejects.toThrow(/stages\.a\.outs\[0\]: out 'shared\.txt' of a@d=y is also an out of a@d=x/)
    await expect(graphOf('version: 1\nstages:\n  a: {cmd: x, outs: [../up.txt]}\n')).rejects.toThrow(/must be a path inside the pipeline folder/)
  })

  it('refuses unknown names with their location', async () => {
    await expect(graphOf('version: 1\nmatrix: {d: [x]}\nstages:\n  a: {cmd: "run ${nope}"}\n')).rejects.toThrow(/pipeline\.yaml:4:\d+: stages\.a\.cmd: unknown name \$\{nope\}/)
  })
})

describe('helpers', () => {
  it('interpolates scalars and reports unknown names', () => {
    const values: Record<string, unknown> = {a: 1, b: [1, 2], c: false}
    const lookup = (name: string) => (name in values ? {found: true, value: values[name]} : {found: false})
    expect(interpolate('x${a}-${b}-${c}', lookup, () => { throw new Error('unknown') })).toBe('x1-[1,2]-false')
    expect(() => interpolate('${d}', lookup, (name) => { throw new Error(`unknown ${name}`) })).toThrow('unknown d')
  })

  it('matches globs and path containment', () => {
    expect(globMatches('synth-*', 'synth-foa')).toBe(true)
    expect(globMatches('synth-*', 'ansim')).toBe(false)
    expect(globMatches('a.b', 'aXb')).toBe(false)
    expect(isWithin('work/a/wav', 'work/a')).toBe(true)
    expect(isWithin('work/ab', 'work/a')).toBe(false)
  })

  it('takes the cartesian product of the named keys', () => {
    expect(cartesian(['a', 'b'], {a: ['1', '2'], b: ['x', 'y', 'z'], c: ['q']})).toHaveLength(6)
  })
})
