import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {datasetSpec} from '../../src/seld/features/datasets.js'
import {featureShape, featureSpec} from '../../src/seld/features/feature-kinds.js'
import {initBackend} from '../../src/seld/model/backend.js'
import {buildSeldnet} from '../../src/seld/model/model.js'
import {outputKindOf} from '../../src/seld/model/outputs.js'
import {repoRoot} from '../pipeline/cli.js'

// The dataset each preset is meant for (the default run's for the others).
const DATASETS: Record<string, string> = {ansim: 'ansim', resim: 'resim', cansim: 'cansim', cresim: 'cresim', real: 'real'}

beforeAll(async () => {
  await initBackend('wasm', () => {})
})

/** The parameters of the repository pipeline with these params files laid over its defaults, in order. */
const paramsOf = async (...files: string[]) =>
  (await loadPipeline(join(repoRoot, 'pipeline.yaml'), {params: files.map((file) => join(repoRoot, 'params', file))})).params as Record<string, Record<string, never>>

describe('parameter presets', () => {
  const presets = readdirSync(join(repoRoot, 'params')).filter((file) => file.endsWith('.yaml') && file !== 'default.yaml')

  // Builds the preset's network with its shapes and 2 units: layer widths only change how long initialisation takes;
  // what can fail is the shapes (pooling against the feature bins, the output against azi_only).
  const buildsOn = (params: Record<string, Record<string, never>>, datasetName: string, label: string) => {
    const {features, model, train} = params
    const dataset = datasetSpec(datasetName)
    const [bins, channels] = featureShape(featureSpec(features.nfft, features.kind, features.mel_bands), dataset.channels)
    expect(model.conv_filters, label).toBeGreaterThan(0)
    const network = buildSeldnet({
      seqLen: train.seq_len, bins, channels, classes: Object.keys(dataset.classIndex).length, convFilters: 2,
      poolSizes: model.pool_sizes, rnnUnits: 2, fnnUnits: 2, dropout: model.dropout,
      lossWeights: model.loss_weights, aziOnly: model.azi_only, lr: train.lr, output: model.output,
    })
    expect(outputKindOf(network), label).toBe(model.output)
    network.dispose()
  }

  it('every preset gives a feature kind that fits its dataset and a network that builds on those features', async () => {
    expect(presets).toContain('seldnet2018.yaml')
    expect(presets).toContain('logmel-accdoa.yaml')
    for (const preset of presets) {
      buildsOn(await paramsOf(preset), DATASETS[preset.replace('.yaml', '')] ?? 'synth-foa', preset)
    }
  })

  it("the default run's features and output lay over the published Ambisonic presets", async () => {
    for (const dataset of ['ansim', 'resim', 'real']) {
      const params = await paramsOf(`${dataset}.yaml`, 'logmel-accdoa.yaml')
      expect([params.features.kind, params.model.output, params.train.validation], dataset).toEqual(['logmel_iv', 'accdoa', 'test'])
      buildsOn(params, dataset, `${dataset} + logmel-accdoa`)
    }
  })

  it('the published presets keep the published recipe and choose on the test split; the others on held-out recordings', async () => {
    for (const preset of presets) {
      const {features, model, train} = await paramsOf(preset)
      const published = preset.replace('.yaml', '') in DATASETS
      if (published || preset.includes('seldnet2018')) expect([features.kind, model.output], preset).toEqual(['stft', 'seldnet'])
      expect(train.validation, preset).toBe(published ? 'test' : 'holdout')
    }
    // The default run's features and output are the ones logmel-accdoa.yaml spells out.
    const pick = ({features, model, train}: Record<string, Record<string, never>>) =>
      [features.nfft, features.kind, features.mel_bands, model.pool_sizes, model.output, train.seq_len]
    const defaults = await paramsOf()
    const spelled = await paramsOf('logmel-accdoa.yaml')
    expect(pick(spelled)).toEqual(pick(defaults))
    expect([defaults.features.kind, defaults.model.output]).toEqual(['logmel_iv', 'accdoa'])
  })
})
