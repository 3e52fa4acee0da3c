import {mkdirSync, renameSync, rmSync} from 'node:fs'
import path from 'node:path'
import {convolveAdd} from './convolve.js'
import {DATASETS, classNames, splitLayout, type DatasetSpec} from '../features/datasets.js'
import {Random} from './random.js'
import {imageSources, reflectionCoefficient} from './room.js'
import {renderMovingEvent} from './moving.js'
import {ELEVATIONS, MAX_DISTANCE, addMotion, descCsv, planScene, type SceneEvent} from './scene.js'
import {ProceduralBank, RecordingBank, type SoundBank} from './sources.js'
import {RENDER_LATENCY, SPEED_OF_SOUND, renderResponses, unitVector, type Path, type Vec3} from './spatial.js'
import {encodeWav, floatToPcm16} from '../io/wav.js'
import {writeZip} from '../io/zip-writer.js'
import {partialName} from '../io/atomic-files.js'

/**
 * The dataset synthesizer: recordings in the TUT Sound Events 2018 layout (see scene.ts for the placement rules,
 * spatial.ts for the receivers, room.ts for the reverberant room), written as the two zips of one (ov, split).
 */
export interface SynthOptions {
  kind: 'foa' | 'mic'
  room: 'anechoic' | 'reverberant'
  classes: string[]
  sampleRate: number
  ov: number
  split: number
  trainFiles: number
  testFiles: number
  /** Seconds per recording. */
  duration: number
  seed: number
  /** Reverberation time of the reverberant room, seconds. */
  rt60: number
  /** Test recordings use directions 5° off the training grid (the published unseen-DOA test). */
  shiftTestDoa: boolean
  /** Folder of real isolated recordings `<dir>/<class>/*.wav`; procedural sounds when absent. */
  sources?: string
  /** Moving sources on great circles (MANSIM-layout descriptions), when present. */
  moving?: MovingOptions
}

export interface MovingOptions {
  /** Fastest angular velocity drawn, °/s. */
  maxAngularVelocity: number
}

/** The published moving-source sets' fastest angular velocity, °/s. */
export const DEFAULT_MAX_ANGULAR_VELOCITY = 40

export type RecordingSet = 'train' | 'test'

export interface RecordingId {
  /** File name without extension, e.g. `train_007`. */
  name: string
  set: RecordingSet
  index: number
}

export interface Recording {
  events: SceneEvent[]
  /** One array per channel (4 FOA channels W, Y, Z, X or 8 microphones), floats in [−1, 1). */
  channels: Float32Array[]
}

/** RMS of a dry event heard from 1 m; spreading makes a 10 m source 20 dB quieter. */
const EVENT_LEVEL = 0.05
/** Ratio of the mean event power to the ambient noise power, as the `_30db` in the TUT archive names says. */
const SNR_DB = 30
/** A recording whose peak would exceed this is scaled down as a whole rather than clipped. */
const MAX_PEAK = 0.99

/** The synthetic dataset with this receiver kind, room and motion (synth-foa, synth-foa-reverb, synth-mic-moving, ...). */
export function syntheticDataset(kind: 'foa' | 'mic', room: 'anechoic' | 'reverberant', moving = false): DatasetSpec {
  const found = Object.values(DATASETS).find((d) => d.synthetic && d.kind === kind && d.room === room && Boolean(d.moving) === moving)
  if (!found) throw new Error(`no synthetic dataset has kind '${kind}', room '${room}'${moving ? ' and moving sources' : ''}`)
  return found
}

/** Options whose receiver kind, room, classes and sample rate are those of a synthetic dataset. */
export function datasetOptions(dataset: DatasetSpec, scene: Omit<SynthOptions, 'kind' | 'room' | 'classes' | 'sampleRate'>): SynthOptions {
  if (!dataset.synthetic) {
    const synthetic = Object.values(DATASETS).filter((d) => d.synthetic).map((d) => d.name)
    throw new Error(`dataset '${dataset.name}' is downloaded, not synthesized (synthetic datasets: ${synthetic.join(', ')})`)
  }
  const moving = dataset.moving ? {moving: {maxAngularVelocity: DEFAULT_MAX_ANGULAR_VELOCITY}} : {}
  return {kind: dataset.kind, room: dataset.room, classes: classNames(dataset), sampleRate: dataset.sampleRate, ...moving, ...scene}
}

function validateOptions(options: SynthOptions): void {
  const integer = (name: string, value: number, minimum: number) => {
    if (!Number.isInteger(value) || value < minimum) throw new Error(`${name} must be an integer ≥ ${minimum}, got ${value}`)
  }
  if (options.kind !== 'foa' && options.kind !== 'mic') throw new Error(`kind must be foa or mic, got '${options.kind}'`)
  if (options.room !== 'anechoic' && options.room !== 'reverberant') throw new Error(`room must be anechoic or reverberant, got '${options.room}'`)
  integer('ov', options.ov, 1)
  integer('split', options.split, 1)
  integer('train files', options.trainFiles, 0)
  integer('test files', options.testFiles, 0)
  integer('seed', options.seed, 0)
  if (options.trainFiles + options.testFiles === 0) throw new Error('nothing to synthesize: train and test file counts are both 0')
  if (!(options.duration > 0 && options.duration <= 3600)) throw new Error(`duration must be in (0, 3600] seconds, got ${options.duration}`)
  if (options.room === 'reverberant' && !(options.rt60 >= 0.05 && options.rt60 <= 5)) throw new Error(`rt60 must be within 0.05 … 5 s, got ${options.rt60}`)
  const velocity = options.moving?.maxAngularVelocity
  if (velocity !== undefined && !(velocity > 0 && velocity <= 360)) throw new Error(`max angular velocity must be in (0, 360] °/s, got ${velocity}`)
}

export function createBank(options: SynthOptions): SoundBank {
  return options.sources
    ? new RecordingBank(options.sources, options.classes, options.sampleRate)
    : new ProceduralBank(options.classes, options.seed, options.sampleRate)
}

/** The recordings of a split: train_000 … then test_000 … (at least 3 digits, more when there are more files). */
export function recordingIds(trainFiles: number, testFiles: number): RecordingId[] {
  const width = Math.max(3, String(Math.max(trainFiles, testFiles) - 1).length)
  const ids = (set: RecordingSet, count: number) =>
    Array.from({length: count}, (_, index) => ({name: `${set}_${String(index).padStart(width, '0')}`, set, index}))
  return [...ids('train', trainFiles), ...ids('test', testFiles)]
}

interface Hall {
  size: Vec3
  receiver: Vec3
  beta: number
}

/**
 * The reverberant room: a hall-sized shoebox drawn per recording, big enough that every grid direction at the largest
 * distance stays 0.5 m inside the walls, so reverberant sets keep the anechoic sets' 1–10 m distances.
 */
function drawHall(rng: Random, rt60: number): Hall {
  const horizontal = MAX_DISTANCE + 0.5
  const vertical = MAX_DISTANCE * Math.sin((Math.max(...ELEVATIONS.map(Math.abs)) * Math.PI) / 180) + 0.5
  const size: Vec3 = [rng.uniform(2 * horizontal + 0.5, 2 * horizontal + 5), rng.uniform(2 * horizontal + 0.5, 2 * horizontal + 5), rng.uniform(2 * vertical + 0.2, 2 * vertical + 2.5)]
  const receiver: Vec3 = [rng.uniform(horizontal, size[0] - horizontal), rng.uniform(horizontal, size[1] - horizontal), rng.uniform(vertical, size[2] - vertical)]
  return {size, receiver, beta: reflectionCoefficient(size, rt60)}
}

/** Pink-ish noise (Paul Kellet's three-pole filter of white noise), unit RMS. */
function pinkNoise(rng: Random, length: number): Float32Array {
  const out = new Float32Array(length)
  let b0 = 0, b1 = 0, b2 = 0, sum = 0
  for (let i = 0; i < length; i++) {
    const white = 2 * rng.next() - 1
    b0 = 0.99765 * b0 + white * 0.099046
    b1 = 0.963 * b1 + white * 0.2965164
    b2 = 0.57 * b2 + white * 1.0526913
    const v = b0 + b1 + b2 + white * 0.1848
    out[i] = v
    sum += v * v
  }
  const scale = 1 / Math.sqrt(sum / Math.max(1, length))
  for (let i = 0; i < length; i++) out[i] *= scale
  return out
}

/**
 * Adds independent pink noise to every channel at SNR_DB below the mean event power (measured on W for FOA, on all
 * microphones for the array, over the samples where an event sounds). FOA noise is diffuse-like: X, Y, Z carry 1/3
 * of W's power, as SN3D gives for an isotropic field.
 */
function addAmbientNoise(kind: 'foa' | 'mic', channels: Float32Array[], events: SceneEvent[], rng: Random): void {
  const length = channels[0].length
  const active = new Uint8Array(length)
  for (const e of events) active.fill(1, e.start, Math.min(length, e.start + e.length))
  const reference = kind === 'foa' ? [channels[0]] : channels
  let power = 0
  let count = 0
  for (const channel of reference) {
    for (let i = 0; i < length; i++) {
      if (active[i]) {
        power += channel[i] * channel[i]
        count++
      }
    }
  }
  const eventPower = count > 0 ? power / count : EVENT_LEVEL * EVENT_LEVEL
  const level = Math.sqrt(eventPower / 10 ** (SNR_DB / 10))
  channels.forEach((channel, c) => {
    const noise = pinkNoise(rng, length)
    const gain = kind === 'foa' && c > 0 ? level / Math.sqrt(3) : level
    for (let i = 0; i < length; i++) channel[i] += gain * noise[i]
  })
}

/** Synthesizes one recording: its scene (events and directions) and its audio. Same arguments, same samples. */
export function synthesizeRecording(options: SynthOptions, bank: SoundBank, id: RecordingId): Recording {
  const {sampleRate, ov, split, seed} = options
  const length = Math.round(options.duration * sampleRate)
  // Scenes do not depend on the receiver kind or room: synth-foa and synth-mic hold the same scenes, as the
  // Ambisonic and circular-array TUT sets do.
  const still = planScene(Random.from(seed, 'scene', ov, split, id.set, id.index), {
    classes: options.classes, bank, set: id.set, sampleRate, length, ov, shiftDoa: options.shiftTestDoa && id.set === 'test',
  })
  const events = options.moving
    ? addMotion(Random.from(seed, 'motion', ov, split, id.set, id.index), still, options.moving.maxAngularVelocity, sampleRate)
    : still
  const acoustics = Random.from(seed, 'acoustics', ov, split, id.set, id.index)
  const hall = options.room === 'reverberant' ? drawHall(acoustics, options.rt60) : undefined
  const channels = Array.from({length: options.kind === 'foa' ? 4 : 8}, () => new Float32Array(length))
  for (const event of events) {
    if (event.motion) {
      const room = hall && {...hall, rt60: options.rt60}
      renderMovingEvent(options.kind, event, bank.instance(event.className, event.number), channels, sampleRate, EVENT_LEVEL, room)
      continue
    }
    const offset = unitVector(event.azimuth, event.elevation).map((v) => v * event.distance) as Vec3
    // Room responses are kept for one RT60 after the direct sound, i.e. until they have decayed by 60 dB.
    const paths: Path[] = hall
      ? imageSources(hall.size, [hall.receiver[0] + offset[0], hall.receiver[1] + offset[1], hall.receiver[2] + offset[2]], hall.receiver, hall.beta,
        event.distance + SPEED_OF_SOUND * options.rt60)
      : [{position: offset, gain: 1 / event.distance}]
    // The direct sound reaches the array centre RENDER_LATENCY samples into each response: align it with the start.
    const responses = renderResponses(options.kind, paths, event.distance, sampleRate)
    convolveAdd(bank.instance(event.className, event.number), responses, channels, event.start - RENDER_LATENCY, EVENT_LEVEL)
  }
  addAmbientNoise(options.kind, channels, events, acoustics)
  let peak = 0
  for (const channel of channels) for (let i = 0; i < length; i++) peak = Math.max(peak, Math.abs(channel[i]))
  if (peak > MAX_PEAK) for (const channel of channels) for (let i = 0; i < length; i++) channel[i] *= MAX_PEAK / peak
  return {events, channels}
}

/**
 * Writes ov{ov}_split{split}.zip into `outDir` as the TUT Sound Events 2018 datasets publish a split: the folders
 * wav_ov{ov}_split{split}_30db/ and desc_ov{ov}_split{split}/ at its root. It is written under a temporary name and
 * renamed over the final name only when complete, so a failed or killed run leaves no partial archive under the final
 * name (and an archive already there stays as it was).
 */
export async function synthesizeSplit(options: SynthOptions, outDir: string, onRecording?: (id: RecordingId, done: number, total: number) => void): Promise<{zip: string}> {
  validateOptions(options)
  const bank = createBank(options)
  const layout = splitLayout(options.ov, options.split)
  const zip = path.join(outDir, layout.zip)
  mkdirSync(outDir, {recursive: true})
  const partial = partialName(zip)
  const ids = recordingIds(options.trainFiles, options.testFiles)
  const descs = new Map<string, string>()
  try {
    // The desc entries are produced after the wav entries: each recording's events are known once it is synthesized.
    await writeZip(partial, [
      {
        folder: layout.wavFolder,
        entries: ids.map((id) => ({
          name: `${id.name}.wav`,
          bytes: () => {
            const recording = synthesizeRecording(options, bank, id)
            descs.set(id.name, descCsv(recording.events, options.sampleRate, options.moving !== undefined))
            onRecording?.(id, descs.size, ids.length)
            return encodeWav(floatToPcm16(recording.channels, options.sampleRate))
          },
        })),
      },
      {folder: layout.descFolder, entries: ids.map((id) => ({name: `${id.name}.csv`, bytes: () => Buffer.from(descs.get(id.name) as string)}))},
    ])
    renameSync(partial, zip)
  } catch (error) {
    rmSync(partial, {force: true})
    throw error
  }
  return {zip}
}
