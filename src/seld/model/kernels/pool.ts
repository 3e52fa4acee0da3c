// MaxPoolGrad for non-overlapping pooling windows, the SELDnet (1, p) frequency pooling.
import * as tf from '@tensorflow/tfjs'
import {registerWasmKernel, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'
import {address, simd} from './simd.js'

/**
 * With windows that tile the input (stride = window, no padding), every input position belongs to exactly one
 * window: one pass routes each dy to its window's first maximum (found by comparison with the pooled output), as
 * the CPU backend does. Other poolings keep the stock kernel.
 */
function maxPoolGradVia(stock: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const wasm = args.backend as BackendWasm
    const {dy, input, output} = args.inputs as {dy: TensorInfo; input: TensorInfo; output: TensorInfo}
    const {filterSize, strides, pad, dimRoundingMode} = args.attrs as unknown as tf.MaxPoolGradAttrs
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode)
    const {batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo} = info
    const {filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw} = info
    const tiles = fh === sh && fw === sw && ho * fh === h && wo * fw === w && info.padInfo.top === 0 && info.padInfo.left === 0
    if (!tiles) return stock(args as never) as TensorInfo
    const dx = wasm.makeOutput(input.shape, 'float32')
    simd(wasm).maxpool_grad(address(wasm, input), address(wasm, output), address(wasm, dy), address(wasm, dx), n * ho, w, c, wo, fh, fw)
    return dx
  }
}

export function registerPoolKernels(): void {
  const stock = tf.getKernel('MaxPoolGrad', 'wasm')
  if (stock) registerWasmKernel('MaxPoolGrad', maxPoolGradVia(stock.kernelFunc) as unknown as tf.KernelFunc, stock.setupFunc)
}
