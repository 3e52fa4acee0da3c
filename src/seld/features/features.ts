import {readdirSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import path from 'node:path'
import {Worker} from 'node:worker_threads'
import {frameCount} from './datasets.js'
import {writeNpy, type NdArray} from '../io/npy.js'
import {Stft} from './stft.js'
import {DEFAULT_MEL_BANDS, featureShape, logMelFeatures, type FeatureSpec} from './feature-kinds.js'
import {readWav, type Pcm16, type WavExpectation} from '../io/wav.js'

// One Stft per FFT length and thread: its buffers are reused by every recording.
const transforms = new Map<number, Stft>()

function stftOf(nfft: number): Stft {
  let stft = transforms.get(nfft)
  if (!stft) transforms.set(nfft, (stft = new Stft(nfft)))
  return stft
}

/**
 * The feature tensor of a recording: frames × bins × channels float32. `spec` is a FeatureSpec, or an FFT length for
 * the published features (`stft`: nfft/2 bins, per bin the C magnitudes then the C phases of the published
 * spectrogram; the other kinds are described in feature-kinds.ts). `frames` pads (with silence) or cuts the recording
 * to a fixed length; by default the recording's own length gives ceil((samples − nfft) / hop) frames. `name` is used in
 * errors. `reuse`, when it has the right size, receives the values instead of a new array.
 */
export function computeFeatures(pcm: Pcm16, spec: number | FeatureSpec, frames?: number, name = 'recording', reuse?: Float32Array): NdArray {
  const {kind, nfft} = typeof spec === 'number' ? {kind: 'stft', nfft: spec} : spec
  const length = pcm.samples.length / pcm.channels
  const count = frames ?? frameCount(length, nfft)
  if (!(count > 0)) throw new Error(`${name}: ${length} samples per channel is shorter than one frame of ${nfft}`)
  if (kind !== 'stft') {
    let shape: [number, number]
    try {
      shape = featureShape(spec as FeatureSpec, pcm.channels)
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`)
    }
    const size = count * shape[0] * shape[1]
    return {shape: [count, ...shape], data: logMelFeatures(pcm, spec as FeatureSpec, count, reuse?.length === size ? reuse : undefined)}
  }
  const stft = stftOf(nfft)
  const size = count * stft.bins * 2 * pcm.channels
  return {shape: [count, stft.bins, 2 * pcm.channels], data: stft.magnitudePhase(pcm, count, reuse?.length === size ? reuse : undefined)}
}

/** What every recording of a features run shares: the feature kind and FFT length, the fixed length and the expected format. */
export interface FeatureSettings extends WavExpectation {
  nfft: number
  /** `stft` when absent. */
  kind?: FeatureSpec['kind']
  /** Mel bands of the log-mel kinds. */
  melBands?: number
  /** Pads or cuts every recording to this many seconds; its own length when absent. */
  seconds?: number
}

// The previous file's values, written out already: reused for the next file of the same size, which spares the
// allocation and page faults of a fresh array of tens of megabytes per recording.
let lastOutput: Float32Array | undefined

/** Reads a WAV (refusing one that does not match `settings`), computes its features and writes them atomically. */
export function extractFeatureFile(wavFile: string, npyFile: string, settings: FeatureSettings): void {
  const pcm = readWav(wavFile, settings)
  const frames = settings.seconds === undefined ? undefined : frameCount(Math.round(settings.seconds * pcm.sampleRate), settings.nfft)
  const spec = {kind: settings.kind ?? 'stft', nfft: settings.nfft, melBands: settings.melBands ?? DEFAULT_MEL_BANDS}
  const features = computeFeatures(pcm, spec, frames, wavFile, lastOutput)
  writeNpy(npyFile, features)
  lastOutput = features.data
}

export interface FeatureJob {
  wav: string
  npy: string
}

/** The reply of a features worker to one job. */
export type WorkerReply = {ok: true} | {ok: false; message: string}

/** Worker threads by default: every core, but no more than 8, since each holds a recording (~100 MB for 30 s, 4 ch). */
export const DEFAULT_THREADS = Math.min(availableParallelism(), 8)

/**
 * Computes the features of every job on `threads` worker threads, each holding one recording at a time, so memory
 * stays bounded by a few recordings whatever the dataset size. At the first failure no new job is handed out; the
 * others finish the recording they hold, every worker then ends on its own (terminating a thread mid-work can abort
 * the process), and the first failure's message is the rejection.
 */
export async function extractFeatureFiles(jobs: FeatureJob[], settings: FeatureSettings, threads = DEFAULT_THREADS): Promise<void> {
  const queue = [...jobs]
  let failure: Error | undefined
  const runWorker = () =>
    new Promise<void>((resolve) => {
      const worker = new Worker(new URL('./features-worker.js', import.meta.url), {workerData: settings})
      const feed = () => {
        const job = failure === undefined ? queue.shift() : undefined
        // No job left: the worker closes its port and its thread ends by itself.
        worker.postMessage(job ?? null)
      }
      worker.on('message', (reply: WorkerReply) => {
        if (!reply.ok) failure ??= new Error(reply.message)
        feed()
      })
      worker.on('error', (error) => (failure ??= error))
      worker.on('exit', (code) => {
        if (code !== 0) failure ??= new Error(`features worker stopped with exit code ${code}`)
        resolve()
      })
      feed()
    })
  await Promise.all(Array.from({length: Math.min(threads, queue.length)}, runWorker))
  if (failure) throw failure
}

/** Jobs computing <outDir>/<name>.npy for every <wavDir>/<name>.wav, in name order. */
export function featureJobs(wavDir: string, outDir: string): FeatureJob[] {
  const names = readdirSync(wavDir).filter((file) => file.toLowerCase().endsWith('.wav')).sort()
  if (names.length === 0) throw new Error(`${wavDir}: no .wav recordings`)
  return names.map((file) => ({wav: path.join(wavDir, file), npy: path.join(outDir, `${file.slice(0, -4)}.npy`)}))
}
