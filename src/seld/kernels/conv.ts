// Convolution gradients for the wasm backend, which has no Conv2DBackpropFilter and a slow Conv2DBackpropInput.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, release, run, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'

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
 * dyᵀ[co][pixel] × cols[pixel][(a,b,ci)] with no transposed operand (so XNNPACK runs them), summed over chunks.
 * The im2col rows are contiguous copies of x; transposing the dy chunk is the cheaper of the two transposes.
 */
export function conv2dBackpropFilter({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const wasm = backend as BackendWasm
  const {x, dy} = inputs as {x: TensorInfo; dy: TensorInfo}
  const filterShape = (attrs as unknown as tf.Conv2DBackpropFilterAttrs).filterShape
  const info = convInfo(x.shape, filterShape, attrs!)
  const {batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co} = info
  const {filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw} = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const pixels = n * ho * wo
  const m = fh * fw * ci
  const sum = new Float32Array(co * m)
  for (let first = 0; first < pixels; first += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, pixels - first)
    const cols = wasm.makeOutput([1, rows, m], 'float32')
    const dyT = wasm.makeOutput([1, co, rows], 'float32')
    const colsData = f32(wasm, cols)
    const xData = f32(wasm, x)
    const dyTData = f32(wasm, dyT)
    const dyData = f32(wasm, dy)
    for (let row = 0, source = first * co; row < rows; row++) {
      for (let o = 0; o < co; o++) dyTData[o * rows + row] = dyData[source++]
    }
    for (let row = 0; row < rows; row++) {
      const pixel = first + row
      const j = pixel % wo
      const i = ((pixel / wo) | 0) % ho
      const batch = (pixel / (wo * ho)) | 0
      for (let a = 0; a < fh; a++) {
        const yi = i * sh + a - top
        for (let b = 0; b < fw; b++) {
          const xj = j * sw + b - left
          const target = row * m + (a * fw + b) * ci
          if (yi < 0 || yi >= h || xj < 0 || xj >= w) {
            for (let c = 0; c < ci; c++) colsData[target + c] = 0
          } else {
            const source = ((batch * h + yi) * w + xj) * ci
            for (let c = 0; c < ci; c++) colsData[target + c] = xData[source + c]
          }
        }
      }
    }
    const partial = run('BatchMatMul', wasm, {a: dyT, b: cols}, {transposeA: false, transposeB: false})
    const partialData = f32(wasm, partial)
    for (let k = 0; k < sum.length; k++) sum[k] += partialData[k]
    release(wasm, cols, dyT, partial)
  }
  const out = wasm.makeOutput(filterShape, 'float32')
  const outData = f32(wasm, out)
  for (let o = 0; o < co; o++) for (let k = 0; k < m; k++) outData[k * co + o] = sum[o * m + k]
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

export function registerConvKernels(): void {
  registerWasmKernel('Conv2DBackpropFilter', conv2dBackpropFilter as unknown as tf.KernelFunc)
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm')
  if (stockInput) registerWasmKernel('Conv2DBackpropInput', conv2dBackpropInputVia(stockInput.kernelFunc) as unknown as tf.KernelFunc, stockInput.setupFunc)
}
