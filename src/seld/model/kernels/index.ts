import * as tf from '@tensorflow/tfjs'
import {registerBatchNormKernels} from './batchnorm.js'
import {registerConvKernels} from './conv.js'
import {registerGruKernels} from './gru.js'
import {registerPoolKernels} from './pool.js'
import {registerReduceKernels} from './reduce.js'

let registered = false

/** True when the wasm backend is in use and the kernels below are registered (initBackend does both). */
export function wasmTrainingKernelsActive(): boolean {
  return registered && tf.getBackend() === 'wasm'
}

/**
 * Registers the training kernels the wasm backend lacks or runs slowly. Call after importing
 * @tensorflow/tfjs-backend-wasm (some wrap its stock kernels) and before or after tf.setBackend('wasm').
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return
  registered = true
  registerConvKernels()
  registerPoolKernels()
  registerBatchNormKernels()
  registerGruKernels()
  registerReduceKernels()
}
