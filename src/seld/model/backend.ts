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

/** How many NVIDIA GPUs the driver shows this machine (a device node without the /proc listing counts as one). */
function machineGpuCount(): number {
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length
  } catch {
    return existsSync('/dev/nvidia0') ? 1 : 0
  }
}

/** CUDA_VISIBLE_DEVICES values that hide every device (Slurm writes NoDevFiles when it grants none). */
const HIDES_ALL = new Set(['', '-1', 'NoDevFiles'])

/**
 * The GPUs this process was given: CUDA_VISIBLE_DEVICES as set by seldpipe, Slurm or the user, else every GPU the
 * driver shows (which CUDA then numbers from 0).
 */
export function givenGpus(env: NodeJS.ProcessEnv, countMachineGpus: () => number = machineGpuCount): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES?.trim()
  if (visible === undefined) return Array.from({length: countMachineGpus()}, (_, index) => String(index))
  return HIDES_ALL.has(visible) ? [] : visible.split(',').map((device) => device.trim())
}

/** The tfjs backends seldpipe can run on, as tried for a preference. */
export type BackendKind = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'

/**
 * The backends to try, in order. TensorFlow on the GPU only when the process was given a GPU (tfjs-node-gpu without
 * one would only run on the CPU); a forced preference tries nothing else.
 */
export function backendCandidates(preference: BackendPreference, gpus: readonly string[]): BackendKind[] {
  const tensorflow: BackendKind[] = gpus.length > 0 ? ['tensorflow-gpu', 'tensorflow'] : ['tensorflow']
  if (preference === 'auto') return [...tensorflow, 'wasm', 'cpu']
  if (preference === 'tensorflow') return tensorflow
  return [preference]
}

/** Which backend a process took, on which device, and what it tried before. */
export interface BackendChoice {
  kind: BackendKind
  /** `GPU 1` (CUDA_VISIBLE_DEVICES numbering, several joined by commas) or `CPU`. */
  device: string
  /** Why each backend tried before this one did not load. */
  skipped: string[]
}

/**
 * Takes the first candidate that `load` makes current. `load` returns undefined when the backend is in use, else
 * why it could not be; a forced preference that cannot load is an error that says what to install.
 */
export async function chooseBackend(preference: BackendPreference, gpus: readonly string[], load: (kind: BackendKind) => Promise<string | undefined>): Promise<BackendChoice> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new Error(`unknown backend '${preference}': expected one of ${BACKEND_PREFERENCES.join(', ')}`)
  }
  const skipped: string[] = []
  for (const kind of backendCandidates(preference, gpus)) {
    const failure = await load(kind)
    if (failure === undefined) return {kind, device: kind === 'tensorflow-gpu' ? `GPU ${gpus.join(',')}` : 'CPU', skipped}
    skipped.push(failure)
  }
  throw new Error(
    `backend '${preference}' is not available: ${skipped.join('; ')}. ` +
      (preference === 'tensorflow'
        ? `Install ${TFJS_NODE} (or ${TFJS_NODE_GPU} for a CUDA GPU) with internet access, or use backend auto.`
        : 'Use backend auto.'),
  )
}

/** Loads a native package and makes its 'tensorflow' backend current; undefined on success, else why not. */
async function loadNative(pkg: string): Promise<string | undefined> {
  try {
    await import(pkg)
    if (await tf.setBackend('tensorflow')) return undefined
    return `${pkg} loaded but its backend did not initialise`
  } catch (error) {
    return `${pkg} unavailable (${(error as Error).message.split('\n')[0]})`
  }
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

async function loadWasm(): Promise<string | undefined> {
  try {
    wasmSetUp ??= setUpWasm()
    await wasmSetUp
    if (await tf.setBackend('wasm')) return undefined
    return '@tensorflow/tfjs-backend-wasm did not initialise'
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm unavailable (${(error as Error).message.split('\n')[0]})`
  }
}

async function loadBackend(kind: BackendKind): Promise<string | undefined> {
  if (kind === 'tensorflow-gpu') return loadNative(TFJS_NODE_GPU)
  if (kind === 'tensorflow') return loadNative(TFJS_NODE)
  if (kind === 'wasm') return loadWasm()
  return (await tf.setBackend('cpu')) ? undefined : 'the cpu backend did not initialise'
}

/** A backend in use: tfjs's name for it, the device it computes on, and both in words for logs and seld.json. */
export interface Backend {
  /** tfjs's backend name: tensorflow, wasm or cpu. */
  name: string
  /** `GPU 1` or `CPU`. */
  device: string
  /** e.g. `tensorflow on GPU 1`, `wasm (2 threads) on CPU`. */
  description: string
}

/**
 * Selects the tfjs backend (see backendCandidates and chooseBackend) for the GPUs this process was given, and logs
 * the choice in one line, with what `auto` skipped.
 */
export async function initBackend(preference: BackendPreference, log: (message: string) => void = console.log, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const choice = await chooseBackend(preference, givenGpus(env), loadBackend)
  await tf.ready()
  let name: string = choice.kind === 'tensorflow-gpu' ? 'tensorflow' : choice.kind
  if (choice.kind === 'wasm') {
    const {getThreadsCount} = await import('@tensorflow/tfjs-backend-wasm')
    name = `wasm (${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'})`
  }
  const description = `${name} on ${choice.device}`
  log(`tfjs backend: ${description}${choice.skipped.length > 0 && preference === 'auto' ? ` (skipped: ${choice.skipped.join('; ')})` : ''}`)
  return {name: tf.getBackend(), device: choice.device, description}
}
