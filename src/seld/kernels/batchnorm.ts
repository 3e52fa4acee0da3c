// Training-mode batch normalization over all axes but the last, with its gradient, on the wasm heap. The stock
// path (moments + FusedBatchNorm) transposes for every leading-axis reduction and tiles rsqrt(variance) to the
// full input size in the gradient; two passes over the data each way do the same work.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'

const FORWARD = 'SeldBatchNormTraining'
const BACKWARD = 'SeldBatchNormTrainingGrad'

/** y = (x − mean) · invStd · gamma + beta with the batch statistics; outputs y, mean, variance, invStd. */
function forward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {x, gamma, beta} = inputs as {x: TensorInfo; gamma: TensorInfo; beta: TensorInfo}
  const epsilon = (attrs as {epsilon: number}).epsilon
  const channels = x.shape[x.shape.length - 1]
  const y = wasm.makeOutput(x.shape, 'float32')
  const mean = wasm.makeOutput([channels], 'float32')
  const variance = wasm.makeOutput([channels], 'float32')
  const invStd = wasm.makeOutput([channels], 'float32')
  const xData = f32(wasm, x)
  const count = xData.length / channels
  const sum = new Float64Array(channels)
  for (let i = 0; i < xData.length; i += channels) for (let c = 0; c < channels; c++) sum[c] += xData[i + c]
  const mu = new Float32Array(channels)
  for (let c = 0; c < channels; c++) mu[c] = sum[c] / count
  sum.fill(0)
  for (let i = 0; i < xData.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const d = xData[i + c] - mu[c]
      sum[c] += d * d
    }
  }
  const gammaData = f32(wasm, gamma)
  const betaData = f32(wasm, beta)
  const scale = new Float32Array(channels)
  const shift = new Float32Array(channels)
  const varianceData = f32(wasm, variance)
  const invStdData = f32(wasm, invStd)
  f32(wasm, mean).set(mu)
  for (let c = 0; c < channels; c++) {
    varianceData[c] = sum[c] / count
    invStdData[c] = 1 / Math.sqrt(varianceData[c] + epsilon)
    scale[c] = invStdData[c] * gammaData[c]
    shift[c] = betaData[c] - mu[c] * scale[c]
  }
  const yData = f32(wasm, y)
  for (let i = 0; i < xData.length; i += channels) for (let c = 0; c < channels; c++) yData[i + c] = xData[i + c] * scale[c] + shift[c]
  return [y, mean, variance, invStd]
}

/**
 * With x̂ = (x − mean) · invStd: dβ = Σ dy, dγ = Σ dy·x̂, dx = γ · invStd · (dy − dβ/N − x̂ · dγ/N), the
 * batch statistics being functions of x.
 */
function backward({inputs, backend}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {dy, x, gamma, mean, invStd} = inputs as Record<string, TensorInfo>
  const channels = x.shape[x.shape.length - 1]
  const dx = wasm.makeOutput(x.shape, 'float32')
  const dGamma = wasm.makeOutput([channels], 'float32')
  const dBeta = wasm.makeOutput([channels], 'float32')
  const xData = f32(wasm, x)
  const dyData = f32(wasm, dy)
  const mu = f32(wasm, mean)
  const inv = f32(wasm, invStd)
  const count = xData.length / channels
  const sumDy = new Float64Array(channels)
  const sumDyX = new Float64Array(channels)
  for (let i = 0; i < xData.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const g = dyData[i + c]
      sumDy[c] += g
      sumDyX[c] += g * (xData[i + c] - mu[c])
    }
  }
  const gammaData = f32(wasm, gamma)
  const dGammaData = f32(wasm, dGamma)
  const dBetaData = f32(wasm, dBeta)
  // dx = a·dy + b·x + d per channel.
  const a = new Float32Array(channels)
  const b = new Float32Array(channels)
  const d = new Float32Array(channels)
  for (let c = 0; c < channels; c++) {
    dBetaData[c] = sumDy[c]
    dGammaData[c] = sumDyX[c] * inv[c]
    a[c] = gammaData[c] * inv[c]
    b[c] = (-a[c] * inv[c] * dGammaData[c]) / count
    d[c] = (-a[c] * dBetaData[c]) / count - b[c] * mu[c]
  }
  const dxData = f32(wasm, dx)
  for (let i = 0; i < xData.length; i += channels) {
    for (let c = 0; c < channels; c++) dxData[i + c] = a[c] * dyData[i + c] + b[c] * xData[i + c] + d[c]
  }
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
