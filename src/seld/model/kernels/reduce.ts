// Kernels whose stock wasm versions take a slow path for the layouts that training produces.
import * as tf from '@tensorflow/tfjs'
import {registerWasmKernel, release, run, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'
import {address, simd, sumScratch} from './simd.js'

const {util} = tf

/**
 * BatchMatMul with transposeA or transposeB runs a naive loop on wasm (~50× slower); the gradients of every
 * matmul set them. An explicit Transpose first keeps the product on XNNPACK.
 */
function batchMatMulVia(stock: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const wasm = args.backend as BackendWasm
    const {a, b} = args.inputs as {a: TensorInfo; b: TensorInfo}
    const {transposeA, transposeB} = args.attrs as unknown as tf.BatchMatMulAttrs
    if (!transposeA && !transposeB) return stock(args as never) as TensorInfo
    const swapLast = (info: TensorInfo) => {
      const perm = info.shape.map((_, i) => i)
      perm.splice(-2, 2, perm.length - 1, perm.length - 2)
      return run('Transpose', wasm, {x: info}, {perm})
    }
    const aPlain = transposeA ? swapLast(a) : a
    const bPlain = transposeB ? swapLast(b) : b
    const out = stock({...args, inputs: {a: aPlain, b: bPlain}, attrs: {transposeA: false, transposeB: false}} as never) as TensorInfo
    if (transposeA) release(wasm, aPlain)
    if (transposeB) release(wasm, bPlain)
    return out
  }
}

/**
 * Sum over every axis but the last (bias gradients) in one pass; the stock kernel transposes the reduced axes to
 * the end first.
 */
function sumVia(stock: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const wasm = args.backend as BackendWasm
    const {x} = args.inputs as {x: TensorInfo}
    const {axis, keepDims} = args.attrs as unknown as tf.SumAttrs
    const rank = x.shape.length
    const axes = new Set((axis == null ? [] : Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))
    const leading = rank >= 2 && axes.size === rank - 1 && !axes.has(rank - 1) && x.dtype === 'float32'
    if (!leading) return stock(args as never) as TensorInfo
    const channels = x.shape[rank - 1]
    const out = wasm.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels], 'float32')
    const scratch = sumScratch(wasm, channels)
    simd(wasm).sum_rows(address(wasm, x), util.sizeFromShape(x.shape) / channels, channels, address(wasm, out), scratch.partial, scratch.total)
    release(wasm, scratch.info)
    return out
  }
}

/**
 * Identity shares the data, as the CPU backend's does; the stock wasm kernel copies it, and the engine clones
 * every tensor it saves for the backward pass (~3 ms per 8 M values). No kernel writes into its inputs.
 */
function identity({inputs, backend}: KernelArgs): TensorInfo {
  const {x} = inputs as {x: TensorInfo}
  ;(backend as BackendWasm).incRef(x.dataId)
  return {dataId: x.dataId, shape: x.shape, dtype: x.dtype}
}

export function registerReduceKernels(): void {
  registerWasmKernel('Identity', identity as unknown as tf.KernelFunc)
  for (const [name, via] of [['BatchMatMul', batchMatMulVia], ['Sum', sumVia]] as const) {
    const stock = tf.getKernel(name, 'wasm')
    if (stock) registerWasmKernel(name, via(stock.kernelFunc) as unknown as tf.KernelFunc, stock.setupFunc)
  }
}
