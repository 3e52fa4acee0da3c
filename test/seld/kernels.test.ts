import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/model/backend.js'
import {expectClose, random} from './kernels-compare.js'
import {batchNormTraining} from '../../src/seld/model/kernels/batchnorm.js'
import {SeldBatchNormalization, SeldConv2D} from '../../src/seld/model/layers.js'

/** Runs `f` on the given backend with fresh tensors from `values`, returning the plain arrays it produced. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend, () => {})
  const outputs = tf.tidy(f)
  const arrays = await Promise.all(outputs.map((o) => o.data() as Promise<Float32Array>))
  tf.dispose(outputs)
  return arrays
}

/** Gradients of sum(conv2d(x, w) · dyWeights) with respect to x and w. */
function convGradients(xShape: number[], wShape: number[], strides: number, pad: 'same' | 'valid') {
  return () => {
    const x = tf.tensor<tf.Rank>(random(xShape, 1), xShape) as tf.Tensor4D
    const w = tf.tensor<tf.Rank>(random(wShape, 2), wShape) as tf.Tensor4D
    const y = tf.conv2d(x, w, strides, pad)
    const weights = tf.tensor(random(y.shape, 3), y.shape)
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), weights)))
    return grads([x, w])
  }
}

describe('wasm convolution gradients match the CPU backend', () => {
  const cases: [string, number[], number[], number, 'same' | 'valid'][] = [
    ['3×3 same', [2, 5, 7, 3], [3, 3, 3, 4], 1, 'same'],
    ['3×3 valid stride 2', [2, 9, 8, 2], [3, 3, 2, 5], 2, 'valid'],
    ['2×3 valid', [2, 6, 7, 3], [2, 3, 3, 4], 1, 'valid'],
    ['2×2 same (uneven padding)', [1, 5, 6, 2], [2, 2, 2, 3], 1, 'same'],
    ['1×1 with many rows (several GEMM chunks)', [3, 30, 40, 2], [1, 1, 2, 3], 1, 'same'],
    ['3×3 same with many rows', [2, 20, 64, 3], [3, 3, 3, 6], 1, 'same'],
  ]
  for (const [name, xShape, wShape, strides, pad] of cases) {
    it(name, async () => {
      const expected = await on('cpu', convGradients(xShape, wShape, strides, pad))
      const actual = await on('wasm', convGradients(xShape, wShape, strides, pad))
      expectClose(actual[0], expected[0])
      expectClose(actual[1], expected[1])
    })
  }
})

describe('wasm max-pool gradient matches the CPU backend', () => {
  const cases: [string, number[], [number, number], [number, number]][] = [
    ['(1, 4) windows', [2, 3, 16, 5], [1, 4], [1, 4]],
    ['(2, 2) windows', [1, 4, 6, 3], [2, 2], [2, 2]],
    ['overlapping windows (stock kernel)', [1, 5, 7, 2], [2, 3], [1, 2]],
  ]
  for (const [name, shape, size, strides] of cases) {
    it(name, async () => {
      const f = () => {
        // ReLU first, as in SELDnet, so windows with tied zeros occur.
        const x = tf.relu(tf.tensor<tf.Rank>(random(shape, 4), shape)) as tf.Tensor4D
        const pooled = tf.maxPool(x, size, strides, 'valid')
        const weights = tf.tensor(random(pooled.shape, 5), pooled.shape)
        return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, strides, 'valid'), weights)))(x)]
      }
      const expected = await on('cpu', f)
      const actual = await on('wasm', f)
      expectClose(actual[0], expected[0], 1e-6)
    })
  }
})

describe('wasm training batch normalization matches stock tfjs on the CPU backend', () => {
  const shape = [3, 4, 6, 5]
  const epsilon = 1e-3
  const tensors = () => ({
    x: tf.add(tf.mul(tf.tensor(random(shape, 6), shape), 3), 0.5),
    gamma: tf.tensor1d(random([5], 7)),
    beta: tf.tensor1d(random([5], 8)),
    weights: tf.tensor(random(shape, 9), shape),
  })

  it('values, batch statistics and gradients with respect to x, gamma and beta', async () => {
    const expected = await on('cpu', () => {
      const {x, gamma, beta, weights} = tensors()
      const {mean, variance} = tf.moments(x, [0, 1, 2])
      const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const m = tf.moments(a, [0, 1, 2])
        return tf.sum(tf.mul(tf.batchNorm(a, m.mean, m.variance, b, g, epsilon), weights))
      }
      return [tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean, variance, ...tf.grads(loss)([x, gamma, beta])]
    })
    const actual = await on('wasm', () => {
      const {x, gamma, beta, weights} = tensors()
      const {y, mean, variance} = batchNormTraining(x, gamma, beta, epsilon)
      const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const result = batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, epsilon)
        tf.dispose([result.mean, result.variance])
        return tf.sum(tf.mul(result.y, weights))
      }
      return [y, mean, variance, ...tf.grads(loss)([x, gamma, beta])]
    })
    expected.forEach((values, i) => expectClose(actual[i], values))
  })

  it('SeldBatchNormalization trains like the stock layer, moving averages included', async () => {
    const run = (layer: tf.layers.Layer) => () => {
      const {x, gamma, beta, weights} = tensors()
      layer.build(shape)
      layer.setWeights([gamma, beta, tf.zerosLike(gamma), tf.onesLike(gamma)])
      const {grads} = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, {training: true}) as tf.Tensor, weights)) as tf.Scalar)
      const byName = Object.keys(grads).sort().map((name) => grads[name])
      return [...byName, ...layer.getWeights()]
    }
    const expected = await on('cpu', run(tf.layers.batchNormalization({momentum: 0.9})))
    const actual = await on('wasm', run(new SeldBatchNormalization({momentum: 0.9})))
    expect(actual).toHaveLength(6)
    expected.forEach((values, i) => expectClose(actual[i], values))
  })
})

describe('wasm matmul with transposed operands and leading-axis sums match the CPU backend', () => {
  it('matMul with every transpose combination, batched and not', async () => {
    const f = () => {
      const outputs: tf.Tensor[] = []
      for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = tf.tensor(random([2, 5, 4], 10), transposeA ? [2, 4, 5] : [2, 5, 4])
        const b = tf.tensor(random([2, 4, 3], 11), transposeB ? [2, 3, 4] : [2, 4, 3])
        outputs.push(tf.matMul(a, b, transposeA, transposeB))
        const first = (t: tf.Tensor) => tf.reshape<tf.Rank>(tf.slice(t, 0, 1), t.shape.slice(1)) as tf.Tensor2D
        outputs.push(tf.matMul(first(a), first(b), transposeA, transposeB))
      }
      return outputs
    }
    const expected = await on('cpu', f)
    const actual = await on('wasm', f)
    expected.forEach((values, i) => expectClose(actual[i], values, 1e-5))
  })

  it('identity shares data: a clone and its original each survive the other being disposed', async () => {
    await initBackend('wasm', () => {})
    const original = tf.tensor1d([1, 2, 3])
    const clone = tf.clone(original)
    const second = tf.clone(original)
    original.dispose()
    expect(Array.from(await clone.data())).toEqual([1, 2, 3])
    clone.dispose()
    expect(Array.from(await second.data())).toEqual([1, 2, 3])
    second.dispose()
  })

  it('sum over leading axes, with and without keepDims, and over other axes (stock kernel)', async () => {
    const f = () => {
      const x = tf.tensor(random([3, 4, 5, 6], 12), [3, 4, 5, 6])
      return [tf.sum(x), tf.sum(x, [0, 1, 2]), tf.sum(x, [2, 0, 1], true), tf.sum(x, [-2, -4, -3]), tf.sum(x, [0, 1]), tf.sum(x, 3), tf.sum(tf.reshape(x, [12, 30]), 0)]
    }
    const expected = await on('cpu', f)
    const actual = await on('wasm', f)
    expected.forEach((values, i) => expectClose(actual[i], values, 1e-5))
  })
})

describe('SeldConv2D on wasm trains like tf.layers.conv2d on the CPU backend', () => {
  for (const [name, padding, strides] of [['same', 'same', 1], ['valid, stride 2', 'valid', 2]] as const) {
    it(name, async () => {
      const shape = [2, 6, 9, 3]
      const run = (layer: tf.layers.Layer) => () => {
        const x = tf.tensor(random(shape, 13), shape)
        const y = layer.apply(x) as tf.Tensor
        layer.setWeights([tf.tensor(random([3, 3, 3, 4], 14), [3, 3, 3, 4]), tf.tensor1d(random([4], 15))])
        const weights = tf.tensor(random(y.shape, 16), y.shape)
        const f = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, weights)) as tf.Scalar
        const {grads} = tf.variableGrads(() => f(x))
        const byName = Object.keys(grads).sort().map((n) => grads[n])
        return [layer.apply(x) as tf.Tensor, tf.grad(f)(x), ...byName]
      }
      const args = {filters: 4, kernelSize: 3, padding, strides}
      const expected = await on('cpu', run(tf.layers.conv2d(args)))
      const actual = await on('wasm', run(new SeldConv2D(args)))
      expect(actual).toHaveLength(4)
      expected.forEach((values, i) => expectClose(actual[i], values))
    })
  }
})
