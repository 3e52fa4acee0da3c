import {existsSync, readdirSync} from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import {registerWasmTrainingKernels} from './kernels/index.js'

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu'
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu']

// Native packages are optionalDependencies whose install downloads libtensorflow: often absent or unloadable.
// The names are held in variables so TypeScript does not require them at build time.
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu'
const TFJS_NODE = '@tensorflow/tfjs-node'

/** True when the machine exposes an NVIDIA GPU; tfjs-node-gpu without one would only run on the CPU. */
function gpuVisible(): boolean {
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length > 0 || existsSync('/dev/nvidia0')
  } catch {
    return existsSync('/dev/nvidia0')
  }
}

async function tryNative(pkg: string, why: string[]): Promise<boolean> {
  try {
    await import(pkg)
    if (await tf.setBackend('tensorflow')) return true
    why.push(`${pkg} loaded but its backend did not initialise`)
  } catch (error) {
    why.push(`${pkg} unavailable (${(error as Error).message.split('\n')[0]})`)
  }
  return false
}

async function tryWasm(why: string[]): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm')
    registerWasmTrainingKernels()
    if (await tf.setBackend('wasm')) return true
    why.push('@tensorflow/tfjs-backend-wasm did not initialise')
  } catch (error) {
    why.push(`@tensorflow/tfjs-backend-wasm unavailable (${(error as Error).message.split('\n')[0]})`)
  }
  return false
}

/**
 * Selects the tfjs backend: `auto` tries tfjs-node-gpu (when a GPU is visible), tfjs-node, wasm (with the training
 * kernels of ./kernels registered), then the plain CPU backend. A forced preference that cannot load is an error.
 * Returns the name of the backend in use and logs it.
 */
export async function initBackend(preference: BackendPreference, log: (message: string) => void = console.log): Promise<string> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new Error(`unknown backend '${preference}': expected one of ${BACKEND_PREFERENCES.join(', ')}`)
  }
  const why: string[] = []
  let chosen: string | undefined
  if (preference === 'auto' || preference === 'tensorflow') {
    if (gpuVisible() && (await tryNative(TFJS_NODE_GPU, why))) chosen = 'tensorflow (GPU)'
    else if (await tryNative(TFJS_NODE, why)) chosen = 'tensorflow'
  }
  if (!chosen && (preference === 'auto' || preference === 'wasm') && (await tryWasm(why))) chosen = 'wasm'
  if (!chosen && (preference === 'auto' || preference === 'cpu') && (await tf.setBackend('cpu'))) chosen = 'cpu'
  if (!chosen) {
    throw new Error(
      `backend '${preference}' is not available: ${why.join('; ')}. ` +
        (preference === 'tensorflow'
          ? `Install ${TFJS_NODE} (or ${TFJS_NODE_GPU} for a CUDA GPU) with internet access, or use backend auto.`
          : 'Use backend auto.'),
    )
  }
  await tf.ready()
  log(`tfjs backend: ${chosen}${why.length > 0 && preference === 'auto' ? ` (skipped: ${why.join('; ')})` : ''}`)
  return tf.getBackend()
}
