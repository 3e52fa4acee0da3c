// MaxPoolGrad for non-overlapping pooling windows, the SELDnet (1, p) frequency pooling.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'

/**
 * With windows that tile the input (stride = window, no padding), every input position belongs to exactly one
 * window: one pass routes each dy to its window's first maximum, as the CPU backend does. Other poolings keep the
 * stock kernel.
 */
function maxPoolGradVia(stock: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const wasm = args.backend as BackendWasm
    const {dy, input} = args.inputs as {dy: TensorInfo; input: TensorInfo}
    const {filterSize, strides, pad, dimRoundingMode} = args.attrs as unknown as tf.MaxPoolGradAttrs
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode)
    const {batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo} = info
    const {filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw} = info
    const tiles = fh === sh && fw === sw && ho * fh === h && wo * fw === w && info.padInfo.top === 0 && info.padInfo.left === 0
    if (!tiles) return stock(args as never) as TensorInfo
    const dx = wasm.makeOutput(input.shape, 'float32')
    const dxData = f32(wasm, dx)
    const xData = f32(wasm, input)
    const dyData = f32(wasm, dy)
    dxData.fill(0)
    const rowStride = w * c
    let window = 0
    for (let row = 0; row < n * ho; row++) {
      const rowStart = row * fh * rowStride
      for (let col = 0; col < wo; col++) {
        const colStart = rowStart + col * fw * c
        for (let channel = 0; channel < c; channel++, window++) {
          let best = colStart + channel
          let bestValue = xData[best]
          for (let a = 0; a < fh; a++) {
            for (let b = 0, at = colStart + a * rowStride + channel; b < fw; b++, at += c) {
              if (xData[at] > bestValue) {
                bestValue = xData[at]
                best = at
              }
            }
          }
          dxData[best] = dyData[window]
        }
      }
    }
    return dx
  }
}

export function registerPoolKernels(): void {
  const stock = tf.getKernel('MaxPoolGrad', 'wasm')
  if (stock) registerWasmKernel('MaxPoolGrad', maxPoolGradVia(stock.kernelFunc) as unknown as tf.KernelFunc, stock.setupFunc)
}
