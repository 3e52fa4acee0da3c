import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'
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

/** Idle and total CPU time of all cores so far (Linux), or undefined. */
function cpuTimes(): {idle: number; total: number} | undefined {
  try {
    // user nice system idle iowait irq softirq steal (guest time is already counted in user and nice)
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number)
    return {idle: fields[3] + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0)}
  } catch {
    return undefined
  }
}

/**
 * XNNPACK threads for the wasm backend: SELDPIPE_WASM_THREADS, else as many as cores are idle now (measured over
 * 200 ms; the load average where /proc/stat is missing), at least one. Its thread pool spin-waits, so on cores that
 * other processes keep busy a second thread makes a training step slower, not faster.
 */
async function wasmThreads(): Promise<number> {
  const forced = process.env.SELDPIPE_WASM_THREADS
  if (forced !== undefined) {
    const requested = Number(forced)
    if (!Number.isInteger(requested) || requested < 1) throw new Error(`SELDPIPE_WASM_THREADS must be a positive integer, got '${forced}'`)
    return requested
  }
  const cores = os.availableParallelism()
  const before = cpuTimes()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const after = cpuTimes()
  const idleCores =
    before && after && after.total > before.total
      ? (cores * (after.idle - before.idle)) / (after.total - before.total)
      : cores - os.loadavg()[0]
  return Math.max(1, Math.min(cores, Math.round(idleCores)))
}

interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): unknown
  PThread: {runningWorkers: {unref(): void}[]; unusedWorkers: {terminate(): void}[]}
}

/**
 * The 'wasm' backend on the package's threaded SIMD build. tfjs disables it in Node because it hands Emscripten a
 * blob: URL for the pthread worker, which Node's Worker cannot load; here the worker script is written to a real
 * file. The C++ side caps threads at half the logical cores, so the core count it reads while the backend
 * initialises is doubled. Idle pthread workers are terminated and XNNPACK's are unref'd, so a process still exits
 * when its work is done.
 */
async function threadedWasmBackend(): Promise<tf.KernelBackend> {
  const wasmPackage = await import('@tensorflow/tfjs-backend-wasm')
  const require = createRequire(import.meta.url)
  const script = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')
  const folder = path.dirname(script)
  const {wasmWorkerContents} = require(path.join(folder, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {wasmWorkerContents: string}
  // tfjs escapes the newlines inside the script's string literals the same way before making its blob.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n')
  const hash = createHash('sha256').update(workerScript).digest('hex').slice(0, 16)
  const workerFile = path.join(os.tmpdir(), `seldpipe-tfjs-wasm-worker-${hash}.cjs`)
  if (!existsSync(workerFile)) {
    const temporary = `${workerFile}.${process.pid}.tmp`
    writeFileSync(temporary, workerScript)
    renameSync(temporary, workerFile)
  }
  const factory = require(script) as (config: object) => Promise<EmscriptenModule>
  const cpus = os.cpus
  os.cpus = () => [...cpus(), ...cpus()]
  try {
    const module = await factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerFile : path.join(folder, file)),
      mainScriptUrlOrBlob: script,
    })
    Object.assign(module, {
      tfjs: {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      },
    })
    const backend = new wasmPackage.BackendWasm(module as never)
    for (const worker of module.PThread.unusedWorkers) worker.terminate()
    module.PThread.unusedWorkers.length = 0
    for (const worker of module.PThread.runningWorkers) worker.unref()
    return backend
  } finally {
    os.cpus = cpus
  }
}

/** Makes the 'wasm' backend threaded, falling back to the stock single-threaded build if that fails. */
async function registerThreadedWasm(threads: number): Promise<void> {
  const wasmPackage = await import('@tensorflow/tfjs-backend-wasm')
  const stockFactory = tf.findBackendFactory('wasm')
  wasmPackage.setThreadsCount(threads)
  tf.removeBackend('wasm')
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        return await threadedWasmBackend()
      } catch (error) {
        // E.g. no worker threads, shared memory or writable temporary folder: one thread still works.
        console.warn(`threaded wasm backend unavailable (${(error as Error).message}); using one thread`)
        return stockFactory!()
      }
    },
    2,
  )
}

// Kernels and thread count are set up once per process, before the backend first initialises.
let wasmSetUp: Promise<void> | undefined

async function setUpWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm')
  registerWasmTrainingKernels()
  const threads = await wasmThreads()
  if (threads > 1) await registerThreadedWasm(threads)
}

async function tryWasm(why: string[]): Promise<boolean> {
  try {
    wasmSetUp ??= setUpWasm()
    await wasmSetUp
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
  if (chosen === 'wasm') {
    const {getThreadsCount} = await import('@tensorflow/tfjs-backend-wasm')
    chosen = `wasm (${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'})`
  }
  log(`tfjs backend: ${chosen}${why.length > 0 && preference === 'auto' ? ` (skipped: ${why.join('; ')})` : ''}`)
  return tf.getBackend()
}
