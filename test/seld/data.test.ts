import {closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {arraySource, BatchReader, listRecordings, predictRecording, sequencePlan, sequenceStarts, type Recording} from '../../src/seld/train/recordings.js'
import {Random} from '../../src/seld/synth/random.js'
import {encodeNpyHeader, writeNpy} from '../../src/seld/io/npy.js'

const BINS = 4
const CHANNELS = 2
const CLASSES = 3

/** Feature value that names its own position, so any read at a wrong offset shows. */
const featureValue = (frame: number, bin: number, channel: number) => frame * 100 + bin * 10 + channel
/** Target value at (frame, column): column c of 4K. */
const targetValue = (frame: number, column: number) => frame + column / 100

function writeRecording(features: string, labels: string, name: string, frames: number, targetFrames = frames): void {
  const x = new Float32Array(frames * BINS * CHANNELS)
  for (let f = 0; f < frames; f++) for (let b = 0; b < BINS; b++) for (let c = 0; c < CHANNELS; c++) x[(f * BINS + b) * CHANNELS + c] = featureValue(f, b, c)
  const y = new Float32Array(targetFrames * 4 * CLASSES)
  for (let f = 0; f < targetFrames; f++) for (let j = 0; j < 4 * CLASSES; j++) y[f * 4 * CLASSES + j] = targetValue(f, j)
  writeNpy(join(features, `${name}.npy`), {shape: [frames, BINS, CHANNELS], data: x})
  writeNpy(join(labels, `${name}.targets.npy`), {shape: [targetFrames, 4 * CLASSES], data: y})
}

let root: string
let features: string
let labels: string

beforeAll(async () => {
  await tf.setBackend('cpu')
  root = mkdtempSync(join(tmpdir(), 'seld-data-'))
  features = join(root, 'normalized')
  labels = join(root, 'labels')
  for (const dir of [features, labels]) mkdirSync(dir)
  writeRecording(features, labels, 'train_b', 30)
  writeRecording(features, labels, 'train_a', 20)
  writeRecording(features, labels, 'test_a', 13)
})

afterAll(() => rmSync(root, {recursive: true, force: true}))

describe('listRecordings', () => {
  it('finds the recordings of each split, sorted, with their shapes', () => {
    const train = listRecordings(features, labels, 'train')
    expect(train.map((r) => r.name)).toEqual(['train_a', 'train_b'])
    expect(train.map((r) => r.frames)).toEqual([20, 30])
    expect(train[0]).toMatchObject({bins: BINS, featureChannels: CHANNELS, classes: CLASSES})
    expect(listRecordings(features, labels, 'test').map((r) => r.name)).toEqual(['test_a'])
  })

  it('names the file when targets and features disagree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seld-bad-'))
    try {
      writeRecording(dir, dir, 'train_x', 10, 9)
      expect(() => listRecordings(dir, dir, 'train')).toThrow(/train_x\.targets\.npy has 9 frames but .*train_x\.npy has 10/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('sequenceStarts', () => {
  it('covers a recording back to back, the last sequence ending at the last frame', () => {
    expect(sequenceStarts(20, 5)).toEqual([0, 5, 10, 15])
    expect(sequenceStarts(23, 5)).toEqual([0, 5, 10, 15, 18])
    expect(sequenceStarts(3, 5)).toEqual([0])
  })
})

describe('sequencePlan', () => {
  it('shuffles deterministically from the seed and keeps every sequence once', () => {
    const recordings = listRecordings(features, labels, 'train')
    const key = (plan: {recording: Recording; start: number}[]) => plan.map((s) => `${s.recording.name}@${s.start}`)
    const ordered = key(sequencePlan(recordings, 4))
    const first = key(sequencePlan(recordings, 4, new Random(7)))
    const again = key(sequencePlan(recordings, 4, new Random(7)))
    const other = key(sequencePlan(recordings, 4, new Random(8)))
    expect(ordered.slice(0, 3)).toEqual(['train_a@0', 'train_a@4', 'train_a@8'])
    expect(first).toEqual(again)
    expect(first).not.toEqual(other)
    expect(first).not.toEqual(ordered)
    expect([...first].sort()).toEqual([...ordered].sort())
  })

  it('continues the same sequence of shuffles from a saved generator state', () => {
    const recordings = listRecordings(features, labels, 'train')
    const random = new Random(3)
    sequencePlan(recordings, 4, random)
    const resumed = new Random(random.state)
    expect(sequencePlan(recordings, 4, resumed)).toEqual(sequencePlan(recordings, 4, random))
  })
})

describe('BatchReader', () => {
  it('reads sequences into model-shaped batches with SED and DOA targets split', async () => {
    const recordings = listRecordings(features, labels, 'train')
    const plan = [{recording: recordings[1], start: 26}, {recording: recordings[0], start: 8}, {recording: recordings[1], start: 0}]
    const reader = new BatchReader(plan, 4, 2, false)
    expect(reader.batches).toBe(2)
    const batches = []
    for await (const batch of reader) batches.push(batch)
    expect(batches.map((b) => b.size)).toEqual([2, 1])
    const [first] = batches
    expect(first.x.length).toBe(2 * 4 * BINS * CHANNELS)
    expect(first.sed.length).toBe(2 * 4 * CLASSES)
    expect(first.doa.length).toBe(2 * 4 * 3 * CLASSES)
    // Sequence 0, step 2 = frame 28 of train_b; sequence 1, step 3 = frame 11 of train_a.
    expect(first.x[(0 * 4 + 2) * BINS * CHANNELS + 3 * CHANNELS + 1]).toBe(featureValue(28, 3, 1))
    expect(first.x[(1 * 4 + 3) * BINS * CHANNELS]).toBe(featureValue(11, 0, 0))
    expect(first.sed[(1 * 4 + 3) * CLASSES + 2]).toBeCloseTo(targetValue(11, 2), 5)
    // DOA holds columns K.. of the targets: x of every class, then y, then z.
    expect(first.doa[(1 * 4 + 3) * 3 * CLASSES]).toBeCloseTo(targetValue(11, CLASSES), 5)
    expect(first.doa[(1 * 4 + 3) * 3 * CLASSES + 3 * CLASSES - 1]).toBeCloseTo(targetValue(11, 4 * CLASSES - 1), 5)
    expect(batches[1].x[0]).toBe(featureValue(0, 0, 0))
  })

  it('keeps only x and y for azimuth-only models', async () => {
    const recordings = listRecordings(features, labels, 'test')
    const batch = await new BatchReader([{recording: recordings[0], start: 4}], 4, 1, true).load(0)
    expect(batch.doa.length).toBe(4 * 2 * CLASSES)
    expect(batch.doa[2 * CLASSES + 2 * CLASSES - 1]).toBeCloseTo(targetValue(5, 3 * CLASSES - 1), 5)
  })

  it('reads by byte ranges: a 3 GB feature file (larger than Node can read whole) streams fine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seld-big-'))
    try {
      const frameBytes = BINS * CHANNELS * 4
      const frames = (3 * 2 ** 30) / frameBytes
      const marked = frames - 3
      const frame = Float32Array.from({length: BINS * CHANNELS}, (_, i) => i + 1)
      writeSparseNpy(join(dir, 'train_big.npy'), [frames, BINS, CHANNELS], marked * frameBytes, frame)
      writeSparseNpy(join(dir, 'train_big.targets.npy'), [frames, 4 * CLASSES], 0, new Float32Array(0))
      const [recording] = listRecordings(dir, dir, 'train')
      expect(recording.frames).toBe(frames)
      const batch = await new BatchReader([{recording, start: marked - 1}], 4, 1, false).load(0)
      expect(Array.from(batch.x.subarray(BINS * CHANNELS, 2 * BINS * CHANNELS))).toEqual(Array.from(frame))
      expect(batch.x[0]).toBe(0)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

/** Writes a sparse .npy file of `shape` (a hole of zeros, costing no disk) with `values` at byte `at` of the data. */
function writeSparseNpy(file: string, shape: number[], at: number, values: Float32Array) {
  const header = encodeNpyHeader(shape)
  const fd = openSync(file, 'w')
  try {
    writeSync(fd, header)
    ftruncateSync(fd, header.length + shape.reduce((a, b) => a * b, 1) * 4)
    writeSync(fd, values, 0, values.byteLength, header.length + at)
  } finally {
    closeSync(fd)
  }
}

describe('predictRecording', () => {
  it('stitches per-sequence outputs back into one value per frame, including the overlapping last sequence', async () => {
    // A stand-in with SELDnet's interface whose outputs at a frame are that frame's first feature, so any misplaced
    // sequence shows.
    const seqLen = 4
    const input = tf.input({shape: [seqLen, BINS, CHANNELS]})
    const flat = tf.layers.reshape({targetShape: [seqLen, BINS * CHANNELS]}).apply(input) as tf.SymbolicTensor
    const pick = (units: number) => {
      const layer = tf.layers.dense({units, useBias: false})
      const out = layer.apply(flat) as tf.SymbolicTensor
      const kernel = tf.buffer([BINS * CHANNELS, units])
      for (let u = 0; u < units; u++) kernel.set(1, 0, u)
      layer.setWeights([kernel.toTensor()])
      return out
    }
    const model = tf.model({inputs: input, outputs: [pick(CLASSES), pick(3 * CLASSES)]})
    for (const frames of [13, 12, 3]) {
      const data = new Float32Array(frames * BINS * CHANNELS)
      for (let f = 0; f < frames; f++) data[f * BINS * CHANNELS] = featureValue(f, 0, 0) + 1
      const prediction = await predictRecording(model, arraySource({shape: [frames, BINS, CHANNELS], data}), 2)
      expect(prediction.sed.length).toBe(frames * CLASSES)
      expect(prediction.doa.length).toBe(frames * 3 * CLASSES)
      for (let f = 0; f < frames; f++) {
        expect(prediction.sed[f * CLASSES + 1]).toBe(featureValue(f, 0, 0) + 1)
        expect(prediction.doa[(f + 1) * 3 * CLASSES - 1]).toBe(featureValue(f, 0, 0) + 1)
      }
    }
  })
})
