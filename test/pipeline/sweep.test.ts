import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildGraph, variantFolder} from '../../src/pipeline/graph/graph.js'
import {PipelineError} from '../../src/pipeline/spec/errors.js'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

const params = 'features: {nfft: 512}\ntrain: {lr: 0.001, epochs: 2}\nmodel: {rnn_units: 64}\nevaluate: {threshold: 0.5}\n'

// prep -> train -> evaluate per cell, as in the SELD pipeline: train reads the train and model sections.
const pipeline = (matrix = 'matrix: {dataset: [a], ov: [1, 2]}') => `
version: 1
params: params.yaml
${matrix}
stages:
  prep:
    cmd: prep --nfft \${features.nfft} --out work/\${dataset}/ov\${ov}/features
    params: [features.nfft]
    outs: ["work/\${dataset}/ov\${ov}/features"]
  train:
    cmd: train --train \${train} --model \${model} --features work/\${dataset}/ov\${ov}/features --out=work/\${dataset}/ov\${ov}/model
    deps: ["work/\${dataset}/ov\${ov}/features"]
    params: [train, model]
    outs: ["work/\${dataset}/ov\${ov}/model"]
  evaluate:
    cmd: evaluate --model work/\${dataset}/ov\${ov}/model --threshold \${evaluate.threshold} --out work/\${dataset}/ov\${ov}/eval
    deps: ["work/\${dataset}/ov\${ov}/model", "work/\${dataset}/ov\${ov}/features"]
    params: [evaluate.threshold]
    outs: ["work/\${dataset}/ov\${ov}/eval"]
    metrics: ["work/\${dataset}/ov\${ov}/eval/metrics.json"]
`

async function graphOf(matrix: string[], text = pipeline()) {
  const dir = tempDir({'pipeline.yaml': text, 'params.yaml': params})
  return buildGraph(await loadPipeline(join(dir, 'pipeline.yaml'), {matrix}))
}

async function loadError(matrix: string[], text = pipeline(), set: string[] = []): Promise<string> {
  const dir = tempDir({'pipeline.yaml': text, 'params.yaml': params})
  const error = await loadPipeline(join(dir, 'pipeline.yaml'), {matrix, set}).then(() => undefined, (caught: unknown) => caught)
  expect(error).toBeInstanceOf(PipelineError)
  return (error as Error).message.replace(dir + '/', '')
}

describe('parameter sweeps in the matrix', () => {
  it('expands only the instances that read a swept parameter, and those downstream of them', async () => {
    const graph = await graphOf(['train.lr=0.001,0.002', 'model.rnn_units=64,128'])
    const ids = (stage: string) => graph.instances.filter((instance) => instance.stage.name === stage).map((instance) => instance.id)
    expect(ids('prep')).toEqual(['prep@dataset=a,ov=1', 'prep@dataset=a,ov=2'])
    expect(ids('train')).toHaveLength(8)
    expect(ids('evaluate')).toHaveLength(8)
    expect(ids('evaluate')).toContain('evaluate@dataset=a,ov=2,train.lr=0.002,model.rnn_units=128')
  })

  it('gives every variant its own out folder, its own parameters and the upstream variant of the same values', async () => {
    const graph = await graphOf(['train.lr=0.001,0.002', 'model.rnn_units=64,128'])
    const train = graph.instances.find((instance) => instance.id === 'train@dataset=a,ov=1,train.lr=0.002,model.rnn_units=64')!
    expect(train.outs).toEqual(['work/a/ov1/lr=0.002,rnn_units=64/model'])
    expect(train.params).toEqual({train: {lr: 0.002, epochs: 2}, model: {rnn_units: 64}})
    expect(train.argv).toContain('--out=work/a/ov1/lr=0.002,rnn_units=64/model')
    expect(train.argv).toContain('{"lr":0.002,"epochs":2}')
    // The unswept upstream keeps its usual folder.
    expect(train.argv).toContain('work/a/ov1/features')
    expect(train.upstream.map((parent) => parent.id)).toEqual(['prep@dataset=a,ov=1'])

    const evaluate = graph.instances.find((instance) => instance.id === 'evaluate@dataset=a,ov=1,train.lr=0.002,model.rnn_units=64')!
    expect(evaluate.outs).toEqual(['work/a/ov1/lr=0.002,rnn_units=64/eval'])
    expect(evaluate.metrics).toEqual(['work/a/ov1/lr=0.002,rnn_units=64/eval/metrics.json'])
    expect(evaluate.deps).toEqual(['work/a/ov1/lr=0.002,rnn_units=64/model', 'work/a/ov1/features'])
    expect(evaluate.argv.slice(0, 3)).toEqual(['evaluate', '--model', 'work/a/ov1/lr=0.002,rnn_units=64/model'])
    expect(evaluate.upstream.map((parent) => parent.id).sort()).toEqual(['prep@dataset=a,ov=1', train.id].sort())
    // Every out is written by exactly one instance.
    const outs = graph.instances.flatMap((instance) => instance.outs)
    expect(new Set(outs).size).toBe(outs.length)
  })

  it('leaves ids, paths and arguments as they are without swept parameters', async () => {
    const graph = await graphOf([])
    expect(graph.instances.map((instance) => instance.id)).toEqual([
      'prep@dataset=a,ov=1', 'prep@dataset=a,ov=2', 'train@dataset=a,ov=1', 'train@dataset=a,ov=2', 'evaluate@dataset=a,ov=1', 'evaluate@dataset=a,ov=2',
    ])
    const evaluate = graph.instances.at(-1)!
    expect(evaluate.outs).toEqual(['work/a/ov2/eval'])
    expect(evaluate.argv).toContain('work/a/ov2/model')
  })

  it('sweeps parameters given in pipeline.yaml too, and a swept parameter an early stage reads expands everything after it', async () => {
    const graph = await graphOf([], pipeline('matrix: {dataset: [a], ov: [1], features.nfft: [256, 512]}'))
    expect(graph.instances.map((instance) => instance.id)).toEqual([
      'prep@dataset=a,ov=1,features.nfft=256', 'prep@dataset=a,ov=1,features.nfft=512',
      'train@dataset=a,ov=1,features.nfft=256', 'train@dataset=a,ov=1,features.nfft=512',
      'evaluate@dataset=a,ov=1,features.nfft=256', 'evaluate@dataset=a,ov=1,features.nfft=512',
    ])
    expect(graph.instances[0].argv).toEqual(['prep', '--nfft', '256', '--out', 'work/a/ov1/nfft=256/features'])
    expect(graph.instances[3].deps).toEqual(['work/a/ov1/nfft=512/features'])
  })

  it('names variant folders by the last part of each key, unless two swept keys share it', () => {
    expect(variantFolder({'train.lr': '0.1', 'model.rnn_units': '64'}, ['train.lr', 'model.rnn_units'])).toBe('lr=0.1,rnn_units=64')
    expect(variantFolder({'a.n': '1', 'b.n': '2'}, ['a.n', 'b.n'])).toBe('a.n=1,b.n=2')
  })

  it('refuses unknown parameters, sections, bad values, a --set of a swept key and metrics outside the outs', async () => {
    expect(await loadError(['train.rate=1'])).toBe("--matrix train.rate=1: unknown parameter 'train.rate' (not in params.yaml)")
    expect(await loadError(['train.x=1', 'nope=2'])).toMatch(/unknown parameter 'train.x'/)
    expect(await loadError(['model.rnn=1'])).toMatch(/unknown parameter/)
    expect(await loadError(['train=1'])).toMatch(/unknown matrix key 'train'/)
    expect(await loadError(['train.lr=0.1,a b'])).toMatch(/value 'a b' must match/)
    expect(await loadError([], pipeline('matrix: {dataset: [a], ov: [1], train.nope: [1]}'))).toMatch(/pipeline\.yaml:\d+:\d+: matrix\.train\.nope: unknown parameter 'train.nope'/)
    expect(await loadError(['train.lr=0.1,0.2'], pipeline(), ['train.lr=0.3'])).toMatch(/--set train.lr=0.3: 'train.lr' is also swept by the matrix/)
    const outside = pipeline().replace('metrics: ["work/${dataset}/ov${ov}/eval/metrics.json"]', 'metrics: ["elsewhere/metrics.json"]')
    const dir = tempDir({'pipeline.yaml': outside, 'params.yaml': params})
    await expect(loadPipeline(join(dir, 'pipeline.yaml')).then(buildGraph)).rejects.toThrow(/stages\.evaluate\.metrics\[0\]: 'elsewhere\/metrics.json' must lie inside one of the stage's outs/)
  })
})
