import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildGraph} from '../../src/pipeline/graph/graph.js'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {repoRoot} from './cli.js'

describe('the repository pipeline.yaml', () => {
  it('validates and expands: synth for synth-* datasets, download for the published ones, both into the zip unzip reads', async () => {
    const pipeline = await loadPipeline(join(repoRoot, 'pipeline.yaml'), {matrix: ['dataset=synth-foa,ansim']})
    const graph = buildGraph(pipeline)
    const ids = graph.instances.map((instance) => instance.id)
    expect(ids.filter((id) => id.startsWith('synth@'))).toEqual(['synth@dataset=synth-foa,ov=1,split=1'])
    expect(ids.filter((id) => id.startsWith('download@'))).toEqual(['download@dataset=ansim,ov=1,split=1'])
    const unzip = graph.instances.find((instance) => instance.id === 'unzip@dataset=ansim,ov=1,split=1')!
    expect(unzip.upstream.map((instance) => instance.id)).toEqual(['download@dataset=ansim,ov=1,split=1'])
    expect(unzip.deps).toContain('data/ansim/ov1_split1.zip')
    const download = unzip.upstream[0]
    expect(download.outs).toEqual(['data/ansim/ov1_split1.zip'])
    expect(download.uncachedOuts).toEqual(['data/ansim/ov1_split1.zip'])
    const synthUnzip = graph.instances.find((instance) => instance.id === 'unzip@dataset=synth-foa,ov=1,split=1')!
    expect(synthUnzip.upstream.map((instance) => instance.id)).toEqual(['synth@dataset=synth-foa,ov=1,split=1'])
    expect(synthUnzip.upstream[0].uncachedOuts).toEqual([])

    // REAL by seldpipe's split numbers and by the published ones: one download per zip the matrix needs.
    const real = buildGraph(await loadPipeline(join(repoRoot, 'pipeline.yaml'), {matrix: ['dataset=real', 'ov=1', 'split=1,2,3,8']}))
    expect(real.instances.filter((instance) => instance.stage.name === 'download').flatMap((instance) => instance.outs)).toEqual(
      ['data/real/ov1_split1.zip', 'data/real/ov1_split2.zip', 'data/real/ov1_split3.zip', 'data/real/ov1_split8.zip'],
    )
    for (const stage of pipeline.stages) {
      const instances = graph.instances.filter((instance) => instance.stage.name === stage.name)
      expect(instances.length, stage.name).toBeGreaterThan(0)
      // Every interpolated mapping or list is one argument of compact JSON.
      for (const argument of instances[0].argv) if (argument.startsWith('{')) expect(() => JSON.parse(argument)).not.toThrow()
    }
  })

  it('reruns the stages a preset key reaches and no others: features.kind reaches features and train, model.output and train.validation only train', async () => {
    const instanceParams = async (set: string[]) => {
      const graph = buildGraph(await loadPipeline(join(repoRoot, 'pipeline.yaml'), {set}))
      return Object.fromEntries(graph.instances.map((instance) => [instance.stage.name, JSON.stringify(instance.params)]))
    }
    const base = await instanceParams([])
    const changed = async (set: string) => {
      const other = await instanceParams([set])
      return Object.keys(base).filter((stage) => base[stage] !== other[stage]).sort()
    }
    expect(await changed('features.kind=stft')).toEqual(['features', 'train'])
    expect(await changed('features.mel_bands=32')).toEqual(['features', 'train'])
    expect(await changed('model.output=multi_accdoa')).toEqual(['train'])
    expect(await changed('train.validation=test')).toEqual(['train'])
    expect(await changed('train.validation_fraction=0.2')).toEqual(['train'])
    // The features stage gets the kind on its command line, the train stage the whole features section.
    const graph = buildGraph(await loadPipeline(join(repoRoot, 'pipeline.yaml'), {set: ['features.kind=logmel_gcc']}))
    const argv = (stage: string) => graph.instances.find((instance) => instance.stage.name === stage)!.argv
    expect(argv('features').join(' ')).toContain('--kind logmel_gcc --mel-bands 64')
    expect(JSON.parse(argv('train')[argv('train').indexOf('--feature-config') + 1])).toEqual({nfft: 1024, kind: 'logmel_gcc', mel_bands: 64})
  })
})
