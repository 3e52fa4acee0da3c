import {closeSync, existsSync, openSync, read, readdirSync} from 'node:fs'
import {join} from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {readNpyHeader} from '../io/npy.js'
import type {Random} from '../synth/random.js'
import {outputKindOf, toActivityDoa} from '../model/outputs.js'

/**
 * One recording's normalized features (frames × bins × channels float32, see feature-kinds.ts) and targets (frames × 4K float32: K activities,
 * then x, y, z of every class), located by file and read by byte ranges, never as whole files.
 */
export interface Recording {
  name: string
  featuresFile: string
  targetsFile: string
  frames: number
  bins: number
  /** Feature channels: 2C (magnitude and phase of every audio channel) for the published features. */
  featureChannels: number
  classes: number
  featuresOffset: number
  targetsOffset: number
}

export type Split = 'train' | 'test'

const FEATURES_SUFFIX = '.npy'
const TARGETS_SUFFIX = '.targets.npy'

function float32Header(file: string) {
  const header = readNpyHeader(file)
  if (header.descr !== '<f4') throw new Error(`${file}: expected float32 values ('<f4'), found '${header.descr}'`)
  return header
}

/**
 * The recordings of one split (file names starting with `train` or `test`), sorted by name, each with its features
 * in `featuresDir/<rec>.npy` and targets in `labelsDir/<rec>.targets.npy`. Checks that shapes agree.
 */
export function listRecordings(featuresDir: string, labelsDir: string, split: Split): Recording[] {
  if (!existsSync(featuresDir)) throw new Error(`${featuresDir}: features folder does not exist`)
  if (!existsSync(labelsDir)) throw new Error(`${labelsDir}: labels folder does not exist`)
  const names = readdirSync(featuresDir)
    .filter((file) => file.startsWith(split) && file.endsWith(FEATURES_SUFFIX) && !file.endsWith(TARGETS_SUFFIX))
    .map((file) => file.slice(0, -FEATURES_SUFFIX.length))
    .sort()
  if (names.length === 0) throw new Error(`${featuresDir}: no ${split}*${FEATURES_SUFFIX} feature files`)
  const recordings = names.map((name): Recording => {
    const featuresFile = join(featuresDir, name + FEATURES_SUFFIX)
    const targetsFile = join(labelsDir, name + TARGETS_SUFFIX)
    if (!existsSync(targetsFile)) throw new Error(`${targetsFile}: missing targets for ${featuresFile}`)
    const features = float32Header(featuresFile)
    const targets = float32Header(targetsFile)
    if (features.shape.length !== 3) throw new Error(`${featuresFile}: expected frames × bins × channels, found shape (${features.shape})`)
    if (targets.shape.length !== 2 || targets.shape[1] % 4 !== 0) {
      throw new Error(`${targetsFile}: expected frames × 4K (activity, x, y, z), found shape (${targets.shape})`)
    }
    if (targets.shape[0] !== features.shape[0]) {
      throw new Error(`${targetsFile} has ${targets.shape[0]} frames but ${featuresFile} has ${features.shape[0]}`)
    }
    const [frames, bins, featureChannels] = features.shape
    return {
      name, featuresFile, targetsFile, frames, bins, featureChannels, classes: targets.shape[1] / 4,
      featuresOffset: features.dataOffset, targetsOffset: targets.dataOffset,
    }
  })
  const first = recordings[0]
  for (const other of recordings) {
    if (other.bins !== first.bins || other.featureChannels !== first.featureChannels || other.classes !== first.classes) {
      throw new Error(
        `${other.featuresFile}: ${other.bins} bins × ${other.featureChannels} channels, ${other.classes} classes ` +
          `differs from ${first.featuresFile} (${first.bins} × ${first.featureChannels}, ${first.classes} classes)`,
      )
    }
  }
  return recordings
}

/**
 * Start frames of the sequences covering a recording: back to back from frame 0, plus one ending at the last frame
 * when the length is not a multiple of `seqLen` (it overlaps its neighbour). A recording shorter than one sequence
 * gets a single sequence at 0, padded with zeros.
 */
export function sequenceStarts(frames: number, seqLen: number): number[] {
  const starts: number[] = []
  for (let start = 0; start + seqLen <= frames; start += seqLen) starts.push(start)
  if (starts.length === 0) return [0]
  if (frames % seqLen !== 0) starts.push(frames - seqLen)
  return starts
}

export interface SequenceRef {
  recording: Recording
  start: number
}

/** Every sequence of the recordings in order (the fixed test order), or shuffled by `random` (training). */
export function sequencePlan(recordings: Recording[], seqLen: number, random?: Random): SequenceRef[] {
  const plan = recordings.flatMap((recording) => sequenceStarts(recording.frames, seqLen).map((start) => ({recording, start})))
  return random ? random.shuffle(plan) : plan
}

/** One batch, laid out for the model: x (b, T, bins, feature channels), sed (b, T, K), doa (b, T, 3K, or 2K azimuth-only). */
export interface Batch {
  size: number
  x: Float32Array
  sed: Float32Array
  doa: Float32Array
}

/** Reads `length` bytes at `position` of `file` into `target` on libuv's thread pool, finishing short reads. */
function readRange(file: string, position: number, target: Uint8Array): Promise<void> {
  // open and close are synchronous so that the read is queued at once, even while the main thread stays busy
  // training: the batch is then ready when the step ends instead of waiting for event-loop turns.
  const fd = openSync(file, 'r')
  return new Promise<void>((resolve, reject) => {
    const next = (done: number) => {
      if (done === target.length) {
        closeSync(fd)
        resolve()
        return
      }
      read(fd, target, done, target.length - done, position + done, (error, bytesRead) => {
        if (error || bytesRead === 0) {
          closeSync(fd)
          reject(error ?? new Error(`${file}: unexpected end of file at byte ${position + done}`))
          return
        }
        next(done + bytesRead)
      })
    }
    next(0)
  })
}

/** Reads frames [start, start + count) of a recording's features into `target`, zero-filling beyond its end. */
export function readFeatureFrames(recording: Recording, start: number, count: number, target: Float32Array): Promise<void> {
  const frameValues = recording.bins * recording.featureChannels
  const available = Math.max(0, Math.min(count, recording.frames - start))
  target.fill(0, available * frameValues, count * frameValues)
  const bytes = new Uint8Array(target.buffer, target.byteOffset, available * frameValues * 4)
  return readRange(recording.featuresFile, recording.featuresOffset + start * frameValues * 4, bytes)
}

/** Reads frames [start, start + count) of a recording's targets (count × 4K) into `target`, zero-filled beyond its end. */
export function readTargetFrames(recording: Recording, start: number, count: number, target: Float32Array): Promise<void> {
  const frameValues = 4 * recording.classes
  const available = Math.max(0, Math.min(count, recording.frames - start))
  target.fill(0, available * frameValues, count * frameValues)
  const bytes = new Uint8Array(target.buffer, target.byteOffset, available * frameValues * 4)
  return readRange(recording.targetsFile, recording.targetsOffset + start * frameValues * 4, bytes)
}

/**
 * Splits target rows (frames × 4K) into the model's two outputs: activities (frames × K) and directions
 * (frames × 3K: x of every class, then y, then z; or frames × 2K without z for azimuth-only models).
 */
export function splitTargets(rows: Float32Array, frames: number, classes: number, aziOnly: boolean, sed: Float32Array, doa: Float32Array): void {
  const width = 4 * classes
  const doaWidth = (aziOnly ? 2 : 3) * classes
  for (let f = 0; f < frames; f++) {
    const row = rows.subarray(f * width, (f + 1) * width)
    sed.set(row.subarray(0, classes), f * classes)
    doa.set(row.subarray(classes, classes + doaWidth), f * doaWidth)
  }
}

/** Reads batches of sequences by byte ranges; `load(i)` can run ahead of training to prefetch the next batch. */
export class BatchReader {
  readonly batches: number

  constructor(
    private readonly plan: SequenceRef[],
    private readonly seqLen: number,
    private readonly batchSize: number,
    private readonly aziOnly: boolean,
  ) {
    this.batches = Math.ceil(plan.length / batchSize)
  }

  /** Starts reading batch `index` (the last batch may be smaller) and resolves when it is in memory. */
  async load(index: number): Promise<Batch> {
    const refs = this.plan.slice(index * this.batchSize, (index + 1) * this.batchSize)
    if (refs.length === 0) throw new Error(`batch ${index} is out of range (${this.batches} batches)`)
    const {bins, featureChannels, classes} = refs[0].recording
    const frameValues = bins * featureChannels
    const doaWidth = (this.aziOnly ? 2 : 3) * classes
    const T = this.seqLen
    const batch: Batch = {
      size: refs.length,
      x: new Float32Array(refs.length * T * frameValues),
      sed: new Float32Array(refs.length * T * classes),
      doa: new Float32Array(refs.length * T * doaWidth),
    }
    const rows = refs.map(() => new Float32Array(T * 4 * classes))
    await Promise.all(
      refs.flatMap(({recording, start}, i) => [
        readFeatureFrames(recording, start, T, batch.x.subarray(i * T * frameValues, (i + 1) * T * frameValues)),
        readTargetFrames(recording, start, T, rows[i]),
      ]),
    )
    refs.forEach((_, i) => {
      splitTargets(rows[i], T, classes, this.aziOnly, batch.sed.subarray(i * T * classes), batch.doa.subarray(i * T * doaWidth))
    })
    return batch
  }

  /** Yields every batch in order, reading the next one while the caller works on the current one. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    let pending = this.batches > 0 ? this.load(0) : undefined
    for (let i = 0; pending; i++) {
      const batch = await pending
      pending = i + 1 < this.batches ? this.load(i + 1) : undefined
      yield batch
    }
  }
}

/** Frames of a recording's features, wherever they are (a file read by ranges, or an array in memory). */
export interface FrameSource {
  frames: number
  bins: number
  featureChannels: number
  /** Fills `target` with frames [start, start + count), zeros beyond the end. */
  read(start: number, count: number, target: Float32Array): Promise<void>
}

export function recordingSource(recording: Recording): FrameSource {
  return {...recording, read: (start, count, target) => readFeatureFrames(recording, start, count, target)}
}

/** Features already in memory (frames × bins × feature channels, C order), e.g. computed from a WAV file by `seldpipe predict`. */
export function arraySource(features: {shape: number[]; data: Float32Array}): FrameSource {
  const [frames, bins, featureChannels] = features.shape
  const frameValues = bins * featureChannels
  return {
    frames, bins, featureChannels,
    async read(start, count, target) {
      const available = Math.max(0, Math.min(count, frames - start))
      target.set(features.data.subarray(start * frameValues, (start + available) * frameValues))
      target.fill(0, available * frameValues, count * frameValues)
    },
  }
}

/** Per-frame outputs for a whole recording: sed frames × K activity probabilities, doa frames × 3K (or 2K). */
export interface Prediction {
  frames: number
  classes: number
  sed: Float32Array
  doa: Float32Array
}

/**
 * Predicts a whole recording with a SELDnet model: the recording is cut into the model's sequence length
 * (sequenceStarts), predicted `batchSize` sequences at a time, turned into activities and directions whatever the
 * output preset (toActivityDoa), and the per-frame values stitched back (frames of the overlapping last sequence are
 * taken from their first appearance).
 */
export async function predictRecording(model: tf.LayersModel, source: FrameSource, batchSize = 8): Promise<Prediction> {
  const [, seqLen, bins, featureChannels] = model.inputs[0].shape
  if (seqLen == null) throw new Error('the model has no fixed sequence length')
  if (bins !== source.bins || featureChannels !== source.featureChannels) {
    throw new Error(`the model expects ${bins} bins × ${featureChannels} channels, the features have ${source.bins} × ${source.featureChannels}`)
  }
  const kind = outputKindOf(model)
  const {classes, doaWidth} = predictionWidths(model)
  const frameValues = source.bins * source.featureChannels
  const prediction: Prediction = {
    frames: source.frames, classes,
    sed: new Float32Array(source.frames * classes),
    doa: new Float32Array(source.frames * doaWidth),
  }
  const starts = sequenceStarts(source.frames, seqLen)
  const read = async (batchStarts: number[]) => {
    const x = new Float32Array(batchStarts.length * seqLen * frameValues)
    await Promise.all(batchStarts.map((start, i) => source.read(start, seqLen, x.subarray(i * seqLen * frameValues, (i + 1) * seqLen * frameValues))))
    return x
  }
  let covered = 0
  let next = read(starts.slice(0, batchSize))
  for (let b = 0; b < starts.length; b += batchSize) {
    const batchStarts = starts.slice(b, b + batchSize)
    const x = await next
    // The next batch is read while this one is predicted.
    if (b + batchSize < starts.length) next = read(starts.slice(b + batchSize, b + 2 * batchSize))
    const input = tf.tensor4d(x, [batchStarts.length, seqLen, bins, featureChannels])
    const outputs = model.predictOnBatch(input) as tf.Tensor | tf.Tensor[]
    const raw = await Promise.all([outputs].flat().map((output) => output.data() as Promise<Float32Array>))
    tf.dispose([input, outputs].flat())
    const {sed, doa} = toActivityDoa(kind, raw, batchStarts.length * seqLen, classes)
    batchStarts.forEach((start, i) => {
      const from = Math.max(start, covered)
      const to = Math.min(start + seqLen, source.frames)
      if (to <= from) return
      const offset = i * seqLen + (from - start)
      prediction.sed.set(sed.subarray(offset * classes, (offset + to - from) * classes), from * classes)
      prediction.doa.set(doa.subarray(offset * doaWidth, (offset + to - from) * doaWidth), from * doaWidth)
      covered = to
    })
  }
  return prediction
}

/** Classes and DOA values per frame of a model's predictions (see predictRecording), whatever its output preset. */
export function predictionWidths(model: tf.LayersModel): {classes: number; doaWidth: number} {
  const kind = outputKindOf(model)
  const width = model.outputs[0].shape[2]!
  if (kind === 'seldnet') return {classes: width, doaWidth: model.outputs[1].shape[2]!}
  const classes = kind === 'accdoa' ? width / 3 : width / 9
  return {classes, doaWidth: 3 * classes}
}
