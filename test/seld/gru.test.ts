import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/model/backend.js'
import {expectClose, random} from './kernels-compare.js'
import {SeldGRU, seldGru} from '../../src/seld/model/gru.js'

const [batch, steps, features, units] = [3, 7, 5, 4]

/** Output and gradients (input, kernel, recurrent kernel, bias) of sum(layer(x) · w) with fixed weights. */
async function outputAndGradients(backend: 'cpu' | 'wasm', layer: tf.layers.Layer): Promise<Float32Array[]> {
  await initBackend(backend, () => {})
  const tensors = tf.tidy(() => {
    const x = tf.tensor(random([batch, steps, features], 1, 2), [batch, steps, features])
    layer.apply(x)
    layer.setWeights([
      tf.tensor(random([features, 3 * units], 2), [features, 3 * units]),
      tf.tensor(random([units, 3 * units], 3), [units, 3 * units]),
      tf.tensor(random([3 * units], 4, 0.5), [3 * units]),
    ])
    const y = layer.apply(x) as tf.Tensor
    const w = tf.tensor(random(y.shape, 5), y.shape)
    const f = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, w)) as tf.Scalar
    const dx = tf.grad(f)(x)
    const {grads} = tf.variableGrads(() => f(x))
    const names = Object.keys(grads)
    const byWeight = ['/kernel', '/recurrent_kernel', '/bias'].map((suffix) => grads[names.find((n) => n.endsWith(suffix))!])
    return [y, dx, ...byWeight]
  })
  const arrays = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>))
  tf.dispose(tensors)
  return arrays
}

describe('SeldGRU on wasm matches tf.layers.gru on the CPU backend', () => {
  const cases: [string, object][] = [
    ['sequences, hard sigmoid gates', {returnSequences: true}],
    ['sequences, backwards', {returnSequences: true, goBackwards: true}],
    ['last state, sigmoid gates', {returnSequences: false, recurrentActivation: 'sigmoid'}],
    ['last state, backwards', {returnSequences: false, goBackwards: true}],
  ]
  for (const [name, options] of cases) {
    it(name, async () => {
      const expected = await outputAndGradients('cpu', tf.layers.gru({units, ...options}))
      const actual = await outputAndGradients('wasm', seldGru({units, ...options}))
      expect(actual).toHaveLength(5)
      expected.forEach((values, i) => expectClose(actual[i], values))
    })
  }
})

describe('SeldGRU as a drop-in', () => {
  it('takes the weights of a stock bidirectional GRU model and survives save and load', async () => {
    await initBackend('wasm', () => {})
    const build = (layer: (args: Parameters<typeof tf.layers.gru>[0]) => tf.layers.Layer) => {
      const input = tf.input({shape: [steps, features]})
      const rnn = tf.layers.bidirectional({layer: layer({units, returnSequences: true}) as tf.RNN, mergeMode: 'mul'})
      return tf.model({inputs: input, outputs: rnn.apply(input) as tf.SymbolicTensor})
    }
    const stock = build(tf.layers.gru)
    const fast = build(seldGru)
    fast.setWeights(stock.getWeights())
    const x = tf.tensor(random([batch, steps, features], 6), [batch, steps, features])
    const expected = await (stock.predict(x) as tf.Tensor).data()
    expectClose((await (fast.predict(x) as tf.Tensor).data()) as Float32Array, expected as Float32Array)

    let artifacts: tf.io.ModelArtifacts | undefined
    await fast.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}}
    }))
    expect(JSON.stringify(artifacts!.modelTopology)).toContain('"SeldGRU"')
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!))
    const layer = loaded.layers[1] as unknown as {forwardLayer: tf.layers.Layer}
    expect(layer.forwardLayer).toBeInstanceOf(SeldGRU)
    expectClose((await (loaded.predict(x) as tf.Tensor).data()) as Float32Array, expected as Float32Array)
  })
})
