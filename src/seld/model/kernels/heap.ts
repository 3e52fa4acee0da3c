// Helpers for kernels that work directly on the wasm backend's heap and call its stock kernels.
import * as tf from '@tensorflow/tfjs'
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm'

export type TensorInfo = tf.TensorInfo
export type {BackendWasm}
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap
  backend: unknown
  attrs?: tf.NamedAttrMap
}

/** A float32 view of a tensor's data on the wasm heap; take it after the last allocation (the heap can grow). */
export function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array
}

/** Runs a registered wasm kernel (stock or ours) on tensor infos, outside any gradient tape. */
export function run(name: string, backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm')
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`)
  return kernel.kernelFunc({inputs, backend, attrs: attrs as tf.NamedAttrMap}) as TensorInfo
}

export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId)
}

/** Replaces whatever is registered for (kernelName, wasm); `setupFunc` carries over a stock kernel's set-up. */
export function registerWasmKernel(kernelName: string, kernelFunc: tf.KernelFunc, setupFunc?: tf.KernelSetupFunc): void {
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm')
  tf.registerKernel({kernelName, backendName: 'wasm', kernelFunc, setupFunc})
}
