// Training-mode batch normalization over all axes but the last, with its gradient, on the wasm heap. The stock
// path (moments + FusedBatchNorm) transposes for every leading-axis reduction and tiles rsqrt(variance) to the
// full input size in the gradient; two passes over the data each way do the same work.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, release, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'
import {address, simd, sumScratch} from './simd.js'

const FORWARD = 'SeldBatchNormTraining'
const BACKWARD = 'SeldBatchNormTrainingGrad'

/** y = (x − mean) · invStd · gamma + beta with the batch statistics; outputs y, mean, variance, invStd. */
function forward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const kernels = simd(wasm)
  const {x, gamma, beta} = inputs as {x: TensorInfo; gamma: TensorInfo; beta: TensorInfo}
  const epsilon = (attrs as {epsilon: number}).epsilon
  const channels = x.shape[x.shape.length - 1]
  const count = tf.util.sizeFromShape(x.shape) / channels
  const y = wasm.makeOutput(x.shape, 'float32')
  const mean = wasm.makeOutput([channels], 'float32')
  const variance = wasm.makeOutput([channels], 'float32')
  const invStd = wasm.makeOutput([channels], 'float32')
  const affine = wasm.makeOutput([2, channels], 'float32')
  const scratch = sumScratch(wasm, channels)
  kernels.bn_stats(address(wasm, x), count, channels, address(wasm, mean), address(wasm, variance), scratch.partial, scratch.total)
  const [mu, v, inv, g, b, scaleShift] = [mean, variance, invStd, gamma, beta, affine].map((t) => f32(wasm, t))
  for (let c = 0; c < channels; c++) {
    inv[c] = 1 / Math.sqrt(v[c] + epsilon)
    scaleShift[c] = inv[c] * g[c]
    scaleShift[channels + c] = b[c] - mu[c] * scaleShift[c]
  }
  const affineAt = address(wasm, affine)
  kernels.affine_rows(address(wasm, x), count, channels, affineAt, affineAt + channels * 4, address(wasm, y))
  release(wasm, affine, scratch.info)
  return [y, mean, variance, invStd]
}

/**
 * With x̂ = (x − mean) · invStd: dβ = Σ dy, dγ = Σ dy·x̂, dx = γ · invStd · (dy − dβ/N − x̂ · dγ/N), the
 * batch statistics being functions of x.
 */
function backward({inputs, backend}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const kernels = simd(wasm)
  const {dy, x, gamma, mean, invStd} = inputs as Record<string, TensorInfo>
  const channels = x.shape[x.shape.length - 1]
  const count = tf.util.sizeFromShape(x.shape) / channels
  const dx = wasm.makeOutput(x.shape, 'float32')
  const dGamma = wasm.makeOutput([channels], 'float32')
  const dBeta = wasm.makeOutput([channels], 'float32')
  // dx = a·dy + b·x + d per channel
  const coefficients = wasm.makeOutput([3, channels], 'float32')
  const scratch = sumScratch(wasm, channels)
  kernels.bn_grad_sums(address(wasm, dy), address(wasm, x), address(wasm, mean), count, channels, address(wasm, dBeta), address(wasm, dGamma), scratch.partial, scratch.total)
  const [mu, inv, g, dg, db, abd] = [mean, invStd, gamma, dGamma, dBeta, coefficients].map((t) => f32(wasm, t))
  for (let c = 0; c < channels; c++) {
    dg[c] *= inv[c]
    const a = g[c] * inv[c]
    const b = (-a * inv[c] * dg[c]) / count
    abd[c] = a
    abd[channels + c] = b
    abd[2 * channels + c] = (-a * db[c]) / count - b * mu[c]
  }
  const at = address(wasm, coefficients)
  kernels.bn_grad_apply(address(wasm, dy), address(wasm, x), count, channels, at, at + channels * 4, at + 2 * channels * 4, address(wasm, dx))
  release(wasm, coefficients, scratch.info)
  return [dx, dGamma, dBeta]
}

export function registerBatchNormKernels(): void {
  registerWasmKernel(FORWARD, forward as unknown as tf.KernelFunc)
  registerWasmKernel(BACKWARD, backward as unknown as tf.KernelFunc)
}

export interface BatchStatistics {
  mean: tf.Tensor1D
  variance: tf.Tensor1D
}

/**
 * Training-mode batch normalization over every axis but the last, on the wasm backend. Returns the normalized
 * tensor (differentiable with respect to x, gamma and beta) and the batch mean and (biased) variance, which the
 * caller owns, for the moving averages.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): {y: tf.Tensor} & BatchStatistics {
  let statistics: BatchStatistics | undefined
  const op = tf.customGrad(((input: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance, invStd] = tf.engine().runKernel(FORWARD, {x: input, gamma: scale, beta: offset}, {epsilon}) as tf.Tensor[]
    save([input, scale, mean, invStd])
    statistics = {mean: tf.keep(mean.clone()) as tf.Tensor1D, variance: tf.keep(variance.clone()) as tf.Tensor1D}
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedGamma, savedMean, savedInvStd] = saved
        return tf.engine().runKernel(BACKWARD, {dy, x: savedX, gamma: savedGamma, mean: savedMean, invStd: savedInvStd}) as tf.Tensor[]
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  const y = op(x, gamma, beta)
  return {y, ...statistics!}
}
