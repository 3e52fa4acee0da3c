// The recurrent part of a GRU layer (tfjs / Keras 2 GRU with reset_after = false) as one forward and one
// backpropagation-through-time kernel on the wasm heap. The input projections x·W + b of all time steps come in
// precomputed, so only h·R stays in the loop; the stock layer issues ~40 small kernel calls per step instead.
import * as tf from '@tensorflow/tfjs'
import {f32, registerWasmKernel, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'

const FORWARD = 'SeldGruForward'
const BACKWARD = 'SeldGruBackward'
// Per step and unit the forward pass saves z, r, candidate h̃ and the gate activations' derivatives.
const SAVED = 5

export type GateActivation = 'hardSigmoid' | 'sigmoid'

interface GruAttrs {
  goBackwards: boolean
  gate: GateActivation
}

/** out[b, 0:n] (+)= a[b, 0:k] · m[0:k, col:col+n], m row-major with `stride` columns. */
function matmulInto(out: Float32Array, a: Float32Array, m: Float32Array, rows: number, k: number, n: number, col: number, stride: number, accumulate: boolean): void {
  if (!accumulate) out.fill(0, 0, rows * n)
  for (let b = 0; b < rows; b++) {
    const outRow = b * n
    for (let i = 0; i < k; i++) {
      const value = a[b * k + i]
      if (value === 0) continue
      const mRow = i * stride + col
      for (let j = 0; j < n; j++) out[outRow + j] += value * m[mRow + j]
    }
  }
}

function forward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {xProj, recurrentKernel} = inputs as {xProj: TensorInfo; recurrentKernel: TensorInfo}
  const {goBackwards, gate} = attrs as unknown as GruAttrs
  const [batch, steps, units3] = xProj.shape
  const units = units3 / 3
  const h = wasm.makeOutput([batch, steps, units], 'float32')
  const saved = wasm.makeOutput([steps, batch, SAVED * units], 'float32')
  const x = f32(wasm, xProj)
  const r = f32(wasm, recurrentKernel)
  const hData = f32(wasm, h)
  const savedData = f32(wasm, saved)
  const hard = gate === 'hardSigmoid'
  const hPrev = new Float32Array(batch * units)
  const gates = new Float32Array(batch * 2 * units)
  const resetH = new Float32Array(batch * units)
  const candidate = new Float32Array(batch * units)
  for (let t = 0; t < steps; t++) {
    const tau = goBackwards ? steps - 1 - t : t
    matmulInto(gates, hPrev, r, batch, units, 2 * units, 0, units3, false)
    for (let b = 0; b < batch; b++) {
      const xRow = (b * steps + tau) * units3
      const sRow = (t * batch + b) * SAVED * units
      for (let j = 0; j < units; j++) {
        const zPre = x[xRow + j] + gates[b * 2 * units + j]
        const rPre = x[xRow + units + j] + gates[b * 2 * units + units + j]
        let z: number, rg: number, dz: number, dr: number
        if (hard) {
          const zLinear = 0.2 * zPre + 0.5
          const rLinear = 0.2 * rPre + 0.5
          z = zLinear < 0 ? 0 : zLinear > 1 ? 1 : zLinear
          rg = rLinear < 0 ? 0 : rLinear > 1 ? 1 : rLinear
          // tfjs differentiates clipByValue as 1 on the closed interval.
          dz = zLinear >= 0 && zLinear <= 1 ? 0.2 : 0
          dr = rLinear >= 0 && rLinear <= 1 ? 0.2 : 0
        } else {
          z = 1 / (1 + Math.exp(-zPre))
          rg = 1 / (1 + Math.exp(-rPre))
          dz = z * (1 - z)
          dr = rg * (1 - rg)
        }
        savedData[sRow + j] = z
        savedData[sRow + units + j] = rg
        savedData[sRow + 3 * units + j] = dz
        savedData[sRow + 4 * units + j] = dr
        resetH[b * units + j] = rg * hPrev[b * units + j]
      }
    }
    matmulInto(candidate, resetH, r, batch, units, units, 2 * units, units3, false)
    for (let b = 0; b < batch; b++) {
      const xRow = (b * steps + tau) * units3
      const sRow = (t * batch + b) * SAVED * units
      const hRow = (b * steps + t) * units
      for (let j = 0; j < units; j++) {
        const hh = Math.tanh(x[xRow + 2 * units + j] + candidate[b * units + j])
        const z = savedData[sRow + j]
        const value = z * hPrev[b * units + j] + (1 - z) * hh
        savedData[sRow + 2 * units + j] = hh
        hData[hRow + j] = value
        hPrev[b * units + j] = value
      }
    }
  }
  return [h, saved]
}

function backward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {dy, h, saved, recurrentKernel} = inputs as Record<string, TensorInfo>
  const {goBackwards} = attrs as unknown as GruAttrs
  const [batch, steps, units] = h.shape
  const units3 = 3 * units
  const dxProj = wasm.makeOutput([batch, steps, units3], 'float32')
  const dR = wasm.makeOutput([units, units3], 'float32')
  const dyData = f32(wasm, dy)
  const hData = f32(wasm, h)
  const s = f32(wasm, saved)
  const r = f32(wasm, recurrentKernel)
  const dx = f32(wasm, dxProj)
  const dRData = f32(wasm, dR)
  dRData.fill(0)
  const dhNext = new Float32Array(batch * units)
  const hPrev = new Float32Array(batch * units)
  const resetH = new Float32Array(batch * units)
  const dCandidate = new Float32Array(batch * units)
  const dResetH = new Float32Array(batch * units)
  const dGates = new Float32Array(batch * 2 * units)
  const dz = new Float32Array(batch * units)
  for (let t = steps - 1; t >= 0; t--) {
    const tau = goBackwards ? steps - 1 - t : t
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) hPrev[b * units + j] = t > 0 ? hData[(b * steps + t - 1) * units + j] : 0
    }
    for (let b = 0; b < batch; b++) {
      const sRow = (t * batch + b) * SAVED * units
      const xRow = (b * steps + tau) * units3
      for (let j = 0; j < units; j++) {
        const i = b * units + j
        const z = s[sRow + j]
        const hh = s[sRow + 2 * units + j]
        const dh = dyData[(b * steps + t) * units + j] + dhNext[i]
        dz[i] = dh * (hPrev[i] - hh)
        const dPreH = dh * (1 - z) * (1 - hh * hh)
        dx[xRow + 2 * units + j] = dPreH
        dCandidate[i] = dPreH
        dhNext[i] = dh * z
        resetH[i] = s[sRow + units + j] * hPrev[i]
      }
    }
    // dR[:, 2U:3U] += (r ⊙ h_prev)ᵀ · dCandidate
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < units; k++) {
        const value = resetH[b * units + k]
        if (value === 0) continue
        const row = k * units3 + 2 * units
        for (let j = 0; j < units; j++) dRData[row + j] += value * dCandidate[b * units + j]
      }
    }
    // dResetH = dCandidate · R[:, 2U:3U]ᵀ
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < units; k++) {
        const row = k * units3 + 2 * units
        let sum = 0
        for (let j = 0; j < units; j++) sum += dCandidate[b * units + j] * r[row + j]
        dResetH[b * units + k] = sum
      }
    }
    for (let b = 0; b < batch; b++) {
      const sRow = (t * batch + b) * SAVED * units
      const xRow = (b * steps + tau) * units3
      for (let j = 0; j < units; j++) {
        const i = b * units + j
        const dPreZ = dz[i] * s[sRow + 3 * units + j]
        const dPreR = dResetH[i] * hPrev[i] * s[sRow + 4 * units + j]
        dhNext[i] += dResetH[i] * s[sRow + units + j]
        dx[xRow + j] = dPreZ
        dx[xRow + units + j] = dPreR
        dGates[b * 2 * units + j] = dPreZ
        dGates[b * 2 * units + units + j] = dPreR
      }
    }
    // dR[:, 0:2U] += h_prevᵀ · dGates; dhNext += dGates · R[:, 0:2U]ᵀ
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < units; k++) {
        const value = hPrev[b * units + k]
        const row = k * units3
        let sum = 0
        for (let j = 0; j < 2 * units; j++) {
          const g = dGates[b * 2 * units + j]
          dRData[row + j] += value * g
          sum += g * r[row + j]
        }
        dhNext[b * units + k] += sum
      }
    }
  }
  return [dxProj, dR]
}

export function registerGruKernels(): void {
  registerWasmKernel(FORWARD, forward as unknown as tf.KernelFunc)
  registerWasmKernel(BACKWARD, backward as unknown as tf.KernelFunc)
}

/**
 * Runs the GRU recurrence on the wasm backend from the input projections xProj = x·W + b ([batch, time, 3U], gate
 * order z, r, h) and the recurrent kernel R ([U, 3U]), from a zero state. Returns all states [batch, time, U] in
 * processing order (reversed time when goBackwards, as tf.layers.gru does); differentiable in xProj and R.
 */
export function gruRecurrence(xProj: tf.Tensor3D, recurrentKernel: tf.Tensor2D, goBackwards: boolean, gate: GateActivation): tf.Tensor3D {
  const attrs = {goBackwards, gate} as unknown as tf.NamedAttrMap
  const op = tf.customGrad(((x: tf.Tensor, kernel: tf.Tensor, save: tf.GradSaveFunc) => {
    const [h, saved] = tf.engine().runKernel(FORWARD, {xProj: x, recurrentKernel: kernel}, attrs) as tf.Tensor[]
    save([h, saved, kernel])
    return {
      value: h,
      gradFunc: (dy: tf.Tensor, [savedH, savedGates, savedKernel]: tf.Tensor[]) =>
        tf.engine().runKernel(BACKWARD, {dy, h: savedH, saved: savedGates, recurrentKernel: savedKernel}, attrs) as tf.Tensor[],
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(xProj, recurrentKernel) as tf.Tensor3D
}
