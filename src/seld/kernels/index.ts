import {registerConvKernels} from './conv.js'

let registered = false

/** Registers the training kernels the wasm backend lacks or runs slowly; call before or after tf.setBackend('wasm'). */
export function registerWasmTrainingKernels(): void {
  if (registered) return
  registered = true
  registerConvKernels()
}
