// The recurrent part of a GRU layer (tfjs / Keras 2 GRU with reset_after = false) as one forward and one
// backpropagation-through-time kernel on the wasm heap. The input projections x·W + b of all time steps come in
// precomputed, so only h·R stays in the loop; the stock layer issues ~40 small kernel calls per step instead.
import * as tf from '@tensorflow/tfjs'
import {registerWasmKernel, release, type BackendWasm, type KernelArgs, type TensorInfo} from './heap.js'
import {address, simd} from './simd.js'

const FORWARD = 'SeldGruForward'
const BACKWARD = 'SeldGruBackward'
// Per step and unit the forward pass saves z, r, candidate h̃ and the gate activations' derivatives (kernels.c).
const SAVED = 5

export type GateActivation = 'hardSigmoid' | 'sigmoid'

interface GruAttrs {
  goBackwards: boolean
  gate: GateActivation
}

function forward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {xProj, recurrentKernel} = inputs as {xProj: TensorInfo; recurrentKernel: TensorInfo}
  const {goBackwards, gate} = attrs as unknown as GruAttrs
  const [batch, steps, units3] = xProj.shape
  const units = units3 / 3
  const h = wasm.makeOutput([batch, steps, units], 'float32')
  const saved = wasm.makeOutput([steps, batch, SAVED * units], 'float32')
  const scratch = wasm.makeOutput([5 * batch * units], 'float32')
  simd(wasm).gru_forward(
    address(wasm, xProj), address(wasm, recurrentKernel), address(wasm, h), address(wasm, saved),
    batch, steps, units, goBackwards ? 1 : 0, gate === 'hardSigmoid' ? 1 : 0, address(wasm, scratch),
  )
  release(wasm, scratch)
  return [h, saved]
}

function backward({inputs, backend, attrs}: KernelArgs): TensorInfo[] {
  const wasm = backend as BackendWasm
  const {dy, h, saved, recurrentKernel} = inputs as Record<string, TensorInfo>
  const {goBackwards} = attrs as unknown as GruAttrs
  const [batch, steps, units] = h.shape
  const dxProj = wasm.makeOutput([batch, steps, 3 * units], 'float32')
  const dR = wasm.makeOutput([units, 3 * units], 'float32')
  const scratch = wasm.makeOutput([3 * units * units + 8 * batch * units], 'float32')
  simd(wasm).gru_backward(
    address(wasm, dy), address(wasm, h), address(wasm, saved), address(wasm, recurrentKernel), address(wasm, dxProj),
    address(wasm, dR), batch, steps, units, goBackwards ? 1 : 0, address(wasm, scratch),
  )
  release(wasm, scratch)
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
