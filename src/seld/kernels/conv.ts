// Convolution gradients for the wasm backend, which has no Conv2DBackpropFilter and a slow Conv2DBackpropInput.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, release, run, view, type BackendWasm, type TensorInfo} from './heap.js'

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
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−top, j·s+b−left, ci] · dy[n,i,j,co], computed as one batched GEMM
 * colsᵀ[chunk][(a,b,ci)][row] × dy[chunk][row][co] summed over chunks: no transposed operand, so XNNPACK runs it.
 */
export function conv2dBackpropFilter({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): TensorInfo {
  const wasm = backend as BackendWasm
  const {x, dy} = inputs as {x: TensorInfo; dy: TensorInfo}
  const filterShape = (attrs as unknown as tf.Conv2DBackpropFilterAttrs).filterShape
  const info = convInfo(x.shape, filterShape, attrs!)
  const {batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co} = info
  const {filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw} = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const rows = n * ho * wo
  const m = fh * fw * ci
  const chunks = Math.ceil(rows / CHUNK_ROWS)
  const chunkRows = Math.ceil(rows / chunks)
  const padded = chunks * chunkRows

  const cols = wasm.makeOutput([chunks, m, chunkRows], 'float32')
  const dyPadded = padded === rows ? view(dy, [chunks, chunkRows, co]) : wasm.makeOutput([chunks, chunkRows, co], 'float32')
  const colsData = f32(wasm, cols)
  const xData = f32(wasm, x)
  if (padded !== rows) {
    const target = f32(wasm, dyPadded)
    target.set(f32(wasm, dy))
    target.fill(0, rows * co)
  }
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      for (let c = 0; c < ci; c++) {
        const mIndex = (a * fw + b) * ci + c
        for (let row = 0; row < padded; row++) {
          const chunk = (row / chunkRows) | 0
          const target = (chunk * m + mIndex) * chunkRows + (row - chunk * chunkRows)
          if (row >= rows) {
            colsData[target] = 0
            continue
          }
          const j = row % wo
          const i = ((row / wo) | 0) % ho
          const batch = (row / (wo * ho)) | 0
          const yi = i * sh + a - top
          const xj = j * sw + b - left
          colsData[target] = yi >= 0 && yi < h && xj >= 0 && xj < w ? xData[((batch * h + yi) * w + xj) * ci + c] : 0
        }
      }
    }
  }
  const partial = run('BatchMatMul', wasm, {a: cols, b: dyPadded}, {transposeA: false, transposeB: false})
  release(wasm, cols)
  if (dyPadded.dataId !== dy.dataId) release(wasm, dyPadded)
  const out = wasm.makeOutput(filterShape, 'float32')
  const outData = f32(wasm, out)
  const partialData = f32(wasm, partial)
  const size = m * co
  outData.set(partialData.subarray(0, size))
  for (let chunk = 1; chunk < chunks; chunk++) {
    const offset = chunk * size
    for (let k = 0; k < size; k++) outData[k] += partialData[offset + k]
  }
  release(wasm, partial)
  return out
}

export function registerConvKernels(): void {
  registerWasmKernel('Conv2DBackpropFilter', conv2dBackpropFilter as unknown as tf.KernelFunc)
}
