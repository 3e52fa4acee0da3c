import {beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/model/backend.js'
import {setPopulationStatistics} from '../../src/seld/model/bn-statistics.js'
import {buildSeldnet} from '../../src/seld/model/model.js'
import {Random} from '../../src/seld/synth/random.js'

const SHAPE = [4, 8, 16, 8] as const

function buildSmallModel(): tf.LayersModel {
  return buildSeldnet({
    seqLen: SHAPE[1], bins: SHAPE[2], channels: SHAPE[3], classes: 3, convFilters: 6, poolSizes: [2, 2, 2],
    rnnUnits: 4, fnnUnits: 4, dropout: 0, lossWeights: [1, 50], aziOnly: false, lr: 1e-3,
  })
}

/** Inputs with per-channel offsets and scales, so that normalized and unnormalized activations differ clearly. */
function sampleInputs(seed: number, batches: number): Float32Array[] {
  const random = new Random(seed)
  return Array.from({length: batches}, () =>
    Float32Array.from({length: SHAPE.reduce((a, b) => a * b, 1)}, (_, i) => 3 * (i % SHAPE[3]) + (1 + (i % 3)) * (2 * random.next() - 1)),
  )
}

function sample(inputs: Float32Array[]): () => AsyncIterable<tf.Tensor> {
  return async function* () {
    for (const values of inputs) yield tf.tensor4d(values, [...SHAPE])
  }
}

/** Per-channel mean and variance, over the whole sample, of each BatchNormalization layer's output in inference mode. */
function normalizedMoments(model: tf.LayersModel, inputs: Float32Array[]): Array<{mean: number[]; variance: number[]}> {
  return model.layers.filter((layer) => layer.getClassName().endsWith('BatchNormalization')).map((layer) =>
    tf.tidy(() => {
      const upTo = tf.model({inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor})
      const outputs = inputs.map((values) => upTo.apply(tf.tensor4d(values, [...SHAPE]), {training: false}) as tf.Tensor)
      const all = tf.concat(outputs.map((output) => tf.reshape(output, [-1, output.shape[3]!])))
      const {mean, variance} = tf.moments(all, 0)
      return {mean: Array.from(mean.dataSync()), variance: Array.from(variance.dataSync())}
    }),
  )
}

describe('setPopulationStatistics', () => {
  beforeAll(async () => {
    await initBackend('wasm', () => {})
  })

  it('makes every BatchNormalization layer normalize its inference-mode input over the sample to mean 0, variance 1', async () => {
    const model = buildSmallModel()
    const inputs = sampleInputs(1, 3)
    // The initial moving statistics (mean 0, variance 1) leave the activations far from normalized.
    const before = normalizedMoments(model, inputs)
    expect(Math.max(...before.flatMap(({mean}) => mean.map(Math.abs)))).toBeGreaterThan(0.5)

    expect(await setPopulationStatistics(model, sample(inputs))).toBe(3)
    // gamma is 1 and beta 0 at initialisation, so the layer outputs are the normalized inputs: mean 0 and variance
    // v / (v + epsilon), v being the input's variance, now the moving variance.
    const layers = model.layers.filter((layer) => layer.getClassName().endsWith('BatchNormalization'))
    normalizedMoments(model, inputs).forEach(({mean, variance}, i) => {
      const epsilon = layers[i].getConfig().epsilon as number
      const moving = layers[i].weights.find((weight) => weight.originalName.endsWith('moving_variance'))!.read().dataSync()
      for (const value of mean) expect(Math.abs(value)).toBeLessThan(1e-3)
      variance.forEach((value, c) => expect(value).toBeCloseTo(moving[c] / (moving[c] + epsilon), 4))
    })
  })

  it('changes nothing but the moving statistics', async () => {
    const model = buildSmallModel()
    const before = model.weights.map((weight) => ({name: weight.originalName, values: weight.read().dataSync().slice()}))
    await setPopulationStatistics(model, sample(sampleInputs(2, 2)))
    const changed = model.weights.filter((weight, i) => weight.read().dataSync().some((value, j) => value !== before[i].values[j]))
    expect(changed.map((weight) => weight.originalName.split('/').pop()).sort()).toEqual([
      ...Array(3).fill('moving_mean'), ...Array(3).fill('moving_variance'),
    ])
  })

  it('refuses an empty sample instead of writing statistics of nothing', async () => {
    const model = buildSmallModel()
    await expect(setPopulationStatistics(model, sample([]))).rejects.toThrow(/no batches/)
  })
})
