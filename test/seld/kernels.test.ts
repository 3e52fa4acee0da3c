import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/backend.js'

/** Runs `f` on the given backend with fresh tensors from `values`, returning the plain arrays it produced. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend, () => {})
  const outputs = tf.tidy(f)
  const arrays = await Promise.all(outputs.map((o) => o.data() as Promise<Float32Array>))
  tf.dispose(outputs)
  return arrays
}

function random(shape: number[], seed: number): Float32Array {
  let state = seed
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1))
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648
    values[i] = state / 1073741824 - 1
  }
  return values
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])))
  expect(worst).toBeLessThan(tolerance)
}

/** Gradients of sum(conv2d(x, w) · dyWeights) with respect to x and w. */
function convGradients(xShape: number[], wShape: number[], strides: number, pad: 'same' | 'valid') {
  return () => {
    const x = tf.tensor(random(xShape, 1), xShape) as tf.Tensor4D
    const w = tf.tensor(random(wShape, 2), wShape) as tf.Tensor4D
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
