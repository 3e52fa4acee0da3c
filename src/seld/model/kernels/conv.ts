// Convolution gradients for the wasm backend, which has no Conv2DBackpropFilter and a slow Conv2DBackpropInput.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, release, run, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'
import {address, simd} from './simd.js'

// Rows of the filter-gradient GEMM's inner dimension per chunk: XNNPACK keeps ~27 GFLOP/s at this size and drops
// to ~6 GFLOP/s when the inner dimension is N·H·W = 131,072 in one piece.
const CHUNK_ROWS = 1024

function convInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const {strides, pad, dataFormat, dimRoundingMode} = attrs as unknown as tf.Conv2DBackpropFilterAttrs
  if (dataFormat !== 'NHWC') throw new Error(`wasm convolution gradient: data format ${dataFormat} is not supported`)
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  )
}

/**
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−top, j·s+b−left, ci] · dy[n,i,j,co], as GEMMs over chunks of output pixels:
 * colsᵀ[(a,b,ci)][pixel] × dy[pixel][co] with no transposed operand (so XNNPACK runs them), summed over chunks.
 * XNNPACK repacks its right operand on every call, so that is the small dy chunk; colsᵀ is an im2col of contiguous
 * copies, transposed.
 */
export function conv2dBackpropFilter({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const wasm = backend as BackendWasm
  const kernels = simd(wasm)
  const {x, dy} = inputs as {x: TensorInfo; dy: TensorInfo}
  const filterShape = (attrs as unknown as tf.Conv2DBackpropFilterAttrs).filterShape
  const info = convInfo(x.shape, filterShape, attrs!)
  const {inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co} = info
  const {filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw} = info
  const pixels = info.batchSize * ho * wo
  const m = fh * fw * ci
  const out = wasm.makeOutput(filterShape, 'float32')
  f32(wasm, out).fill(0)
  for (let first = 0; first < pixels; first += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, pixels - first)
    // Fresh tensors per chunk: XNNPACK caches packed operands by tensor id.
    const cols = wasm.makeOutput([rows, m], 'float32')
    const colsT = wasm.makeOutput([1, m, rows], 'float32')
    const dyChunk = wasm.makeOutput([1, rows, co], 'float32')
    kernels.im2col(address(wasm, x), address(wasm, cols), first, rows, h, w, ci, ho, wo, fh, fw, sh, sw, info.padInfo.top, info.padInfo.left)
    kernels.transpose(address(wasm, cols), address(wasm, colsT), rows, m)
    f32(wasm, dyChunk).set(f32(wasm, dy).subarray(first * co, (first + rows) * co))
    const partial = run('BatchMatMul', wasm, {a: colsT, b: dyChunk}, {transposeA: false, transposeB: false})
    kernels.add_into(address(wasm, out), address(wasm, partial), m * co)
    release(wasm, cols, colsT, dyChunk, partial)
  }
  return out
}

/**
 * With stride 1 the input gradient is the forward convolution of dy with the spatially flipped, in/out-swapped
 * filter and complementary padding, which XNNPACK runs fast; other strides keep the stock kernel.
 */
function conv2dBackpropInputVia(stock: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const wasm = args.backend as BackendWasm
    const {dy, filter} = args.inputs as {dy: TensorInfo; filter: TensorInfo}
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs
    const info = convInfo(attrs.inputShape, filter.shape, args.attrs!)
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return stock(args as never) as TensorInfo
    const {filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co} = info
    const flipped = wasm.makeOutput([fh, fw, co, ci], 'float32')
    const target = f32(wasm, flipped)
    const source = f32(wasm, filter)
    for (let a = 0; a < fh; a++) {
      for (let b = 0; b < fw; b++) {
        const from = (a * fw + b) * ci * co
        const to = ((fh - 1 - a) * fw + (fw - 1 - b)) * co * ci
        for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) target[to + o * ci + c] = source[from + c * co + o]
      }
    }
    const {top, bottom, left, right} = info.padInfo
    const pad = [[0, 0], [fh - 1 - top, fh - 1 - bottom], [fw - 1 - left, fw - 1 - right], [0, 0]]
    const dx = run('Conv2D', wasm, {x: dy, filter: flipped}, {strides: 1, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined})
    release(wasm, flipped)
    return dx
  }
}

const CONV2D_BIAS = 'SeldConv2DBias'

/**
 * conv2d(x, filter) + bias (NHWC) for the wasm backend. The same as tf.fused.conv2d, but its gradient is registered
 * per input, so the tape computes only the gradients it needs: none for the input of the first layer.
 */
export function conv2dBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: [number, number], pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.engine().runKernel(CONV2D_BIAS, {x, filter, bias}, {strides, pad} as unknown as tf.NamedAttrMap) as tf.Tensor4D
}

function conv2dBiasForward({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const {strides, pad} = attrs as unknown as {strides: [number, number]; pad: 'same' | 'valid'}
  return run('FusedConv2D', backend as BackendWasm, inputs as Record<string, TensorInfo>, {strides, pad, dataFormat: 'NHWC', dilations: 1, activation: 'linear'})
}

function conv2dBiasGradient(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x, filter] = saved
  const convAttrs = {strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC'}
  return {
    x: () => tf.engine().runKernel('Conv2DBackpropInput', {dy, filter}, {...convAttrs, inputShape: x.shape}),
    filter: () => tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {...convAttrs, filterShape: filter.shape}),
    bias: () => tf.sum(dy, [0, 1, 2]),
  } as Record<string, () => tf.Tensor>
}

export function registerConvKernels(): void {
  registerWasmKernel(CONV2D_BIAS, conv2dBiasForward as unknown as tf.KernelFunc)
  tf.registerGradient({kernelName: CONV2D_BIAS, inputsToSave: ['x', 'filter'], gradFunc: conv2dBiasGradient as unknown as tf.GradFunc})
  registerWasmKernel('Conv2DBackpropFilter', conv2dBackpropFilter as unknown as tf.KernelFunc)
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm')
  if (stockInput) registerWasmKernel('Conv2DBackpropInput', conv2dBackpropInputVia(stockInput.kernelFunc) as unknown as tf.KernelFunc, stockInput.setupFunc)
}
