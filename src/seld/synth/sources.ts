import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {Random} from './random.js'
import {SOUND_FAMILIES} from './sounds.js'
import {readWav} from '../io/wav.js'

/**
 * Where the dry (mono, unspatialized) sound events come from: numbered instances per class, as in DCASE 2016 task 2
 * where a recording `knock012.wav` is instance 12 of class knock. Instances come out with silent edges trimmed and
 * scaled to unit RMS over their active part, so the scene decides every level.
 */
export interface SoundBank {
  /** Instance numbers a set may use: numbers n with n % 4 == 3 are test sounds, the others train sounds. */
  numbers(className: string, set: 'train' | 'test'): number[]
  instance(className: string, number: number): Float32Array
}

/** Instance numbers are written with 3 digits in the description files. */
const MAX_INSTANCES = 1000
/** Instances kept in memory: a recording reuses few, and one instance is at most a few hundred kB. */
const CACHE_SIZE = 64

function splitNumbers(count: number, set: 'train' | 'test'): number[] {
  const all = Array.from({length: count}, (_, n) => n)
  // Too few sounds to hold some out: both sets share them.
  if (count < 4) return all
  return all.filter((n) => (n % 4 === 3) === (set === 'test'))
}

/** RMS of every `frame`-sample frame. */
function frameLevels(x: Float64Array | Float32Array, frame: number): number[] {
  const levels: number[] = []
  for (let start = 0; start < x.length; start += frame) {
    let sum = 0
    const end = Math.min(x.length, start + frame)
    for (let i = start; i < end; i++) sum += x[i] * x[i]
    levels.push(Math.sqrt(sum / (end - start)))
  }
  return levels
}

/**
 * Trims leading and trailing frames more than 50 dB below the loudest one, and scales to unit RMS over the frames
 * within 30 dB of the loudest (so a sparse click train is as audible as a sustained tone).
 */
function prepareInstance(x: Float64Array | Float32Array): Float32Array {
  const frame = 256
  const levels = frameLevels(x, frame)
  const loudest = levels.reduce((max, level) => Math.max(max, level), 0)
  if (loudest === 0) throw new Error('sound is silent')
  let first = 0
  while (levels[first] < loudest * 0.00316) first++
  let last = levels.length - 1
  while (levels[last] < loudest * 0.00316) last--
  let sum = 0
  let count = 0
  for (const level of levels) {
    if (level >= loudest * 0.0316) {
      sum += level * level
      count++
    }
  }
  const scale = 1 / Math.sqrt(sum / count)
  const start = first * frame
  const end = Math.min(x.length, (last + 1) * frame)
  const out = new Float32Array(end - start)
  for (let i = 0; i < out.length; i++) out[i] = x[start + i] * scale
  return out
}

abstract class CachedBank implements SoundBank {
  private readonly cache = new Map<string, Float32Array>()

  abstract numbers(className: string, set: 'train' | 'test'): number[]
  protected abstract load(className: string, number: number): Float32Array

  instance(className: string, number: number): Float32Array {
    const key = `${className}${number}`
    let found = this.cache.get(key)
    if (found) {
      this.cache.delete(key)
    } else {
      found = this.load(className, number)
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string)
    }
    this.cache.set(key, found)
    return found
  }
}

/** Procedural sounds: instance n of a class is always the same sound for a given seed, in every split and overlap. */
export class ProceduralBank extends CachedBank {
  constructor(private readonly classes: string[], private readonly seed: number, private readonly sampleRate: number) {
    super()
    for (const name of classes) if (!SOUND_FAMILIES[name]) throw new Error(`no procedural sound family for class '${name}'`)
  }

  numbers(className: string, set: 'train' | 'test'): number[] {
    if (!this.classes.includes(className)) throw new Error(`unknown class '${className}'`)
    return splitNumbers(MAX_INSTANCES, set)
  }

  protected load(className: string, number: number): Float32Array {
    return prepareInstance(SOUND_FAMILIES[className](Random.from(this.seed, 'sound', className, number), this.sampleRate))
  }
}

/**
 * Real isolated recordings, `<dir>/<class>/*.wav` (as DCASE 2016 task 2 ships them): 16-bit PCM at the dataset's
 * sample rate, mixed down to mono; instance n of a class is its n-th file in name order.
 */
export class RecordingBank extends CachedBank {
  private readonly files = new Map<string, string[]>()

  constructor(dir: string, classes: string[], private readonly sampleRate: number) {
    super()
    if (!statSync(dir, {throwIfNoEntry: false})?.isDirectory()) throw new Error(`${dir}: sources folder does not exist`)
    for (const name of classes) {
      const classDir = path.join(dir, name)
      const wavs = statSync(classDir, {throwIfNoEntry: false})?.isDirectory()
        ? readdirSync(classDir).filter((file) => file.toLowerCase().endsWith('.wav')).sort()
        : []
      if (wavs.length === 0) throw new Error(`${classDir}: no recordings for class '${name}' (expected ${classDir}/*.wav)`)
      if (wavs.length > MAX_INSTANCES) throw new Error(`${classDir}: ${wavs.length} recordings; at most ${MAX_INSTANCES} fit the <class><3 digits>.wav names`)
      this.files.set(name, wavs.map((file) => path.join(classDir, file)))
    }
  }

  numbers(className: string, set: 'train' | 'test'): number[] {
    const files = this.files.get(className)
    if (!files) throw new Error(`unknown class '${className}'`)
    return splitNumbers(files.length, set)
  }

  protected load(className: string, number: number): Float32Array {
    const file = this.files.get(className)?.[number]
    if (!file) throw new Error(`class '${className}' has no recording number ${number}`)
    const pcm = readWav(file)
    if (pcm.sampleRate !== this.sampleRate) throw new Error(`${file}: sample rate ${pcm.sampleRate} Hz; the synthesizer needs ${this.sampleRate} Hz recordings (resample them first)`)
    const frames = pcm.samples.length / pcm.channels
    const mono = new Float64Array(frames)
    for (let i = 0; i < frames; i++) {
      let sum = 0
      for (let c = 0; c < pcm.channels; c++) sum += pcm.samples[i * pcm.channels + c]
      mono[i] = sum / pcm.channels / 32768
    }
    try {
      return prepareInstance(mono)
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`)
    }
  }
}
