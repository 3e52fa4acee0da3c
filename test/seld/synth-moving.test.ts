import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import yauzl from 'yauzl'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DCASE2016_CLASSES} from '../../src/seld/features/datasets.js'
import {parseDescCsv, type DescEvent} from '../../src/seld/features/labels.js'
import {MOVING_DESC_HEADER, addMotion} from '../../src/seld/synth/scene.js'
import {datasetSpec} from '../../src/seld/features/datasets.js'
import {createBank, datasetOptions, syntheticDataset, synthesizeRecording, type SynthOptions} from '../../src/seld/synth/synthesize.js'
import {parseWav} from '../../src/seld/io/wav.js'
import {repoRoot} from '../conformance.js'
import {MIC_POSITIONS, RENDER_LATENCY, SPEED_OF_SOUND, renderResponses, unitVector, type Vec3} from '../../src/seld/synth/spatial.js'
import {convolveAdd} from '../../src/seld/synth/convolve.js'
import {renderMovingEvent} from '../../src/seld/synth/moving.js'
import {imageSources, reflectionCoefficient} from '../../src/seld/synth/room.js'
import {Random} from '../../src/seld/synth/random.js'
import type {SceneEvent} from '../../src/seld/synth/scene.js'
import {angleBetween, arrayDirection, azimuthDifference, foaIntensityDirection, type Direction} from './doa-estimators.js'

const FS = 44100
const WINDOW = FS / 10

/** Every entry of every zip in `folder`, by base name (independent of how the zips are laid out). */
async function zipEntries(folder: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>()
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.zip'))) {
    await new Promise<void>((resolve, reject) => {
      yauzl.open(path.join(folder, file), {lazyEntries: true}, (error, zip) => {
        if (error) return reject(error)
        zip.on('error', reject)
        zip.on('end', () => resolve())
        zip.on('entry', (entry: yauzl.Entry) => {
          if (entry.fileName.endsWith('/')) return zip.readEntry()
          zip.openReadStream(entry, (streamError, stream) => {
            if (streamError) return reject(streamError)
            const chunks: Buffer[] = []
            stream.on('data', (chunk: Buffer) => chunks.push(chunk))
            stream.on('end', () => {
              entries.set(path.basename(entry.fileName), Buffer.concat(chunks))
              zip.readEntry()
            })
          })
        })
        zip.readEntry()
      })
    })
  }
  return entries
}

/**
 * Where a description row says its source is `seconds` after onset, computed independently of the synthesizer:
 * the great circle through the start a and the target b is cos(ωt)·a + sin(ωt)·b⊥, with b⊥ the unit part of b
 * orthogonal to a.
 */
function rowDirection(event: DescEvent, seconds: number): Direction {
  const vector = (azimuth: number, elevation: number) => {
    const [a, e] = [(azimuth * Math.PI) / 180, (elevation * Math.PI) / 180]
    return [Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e)]
  }
  const motion = event.motion
  if (!motion || motion.kind !== 'great-circle' || motion.angularVelocity === 0) return event
  const a = vector(event.azimuth, event.elevation)
  const b = vector(motion.azimuthTowards, motion.elevationTowards)
  const along = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
  const orthogonal = b.map((v, i) => v - along * a[i])
  const length = Math.hypot(...orthogonal)
  const angle = (motion.angularVelocity * Math.PI * seconds) / 180
  const p = a.map((v, i) => Math.cos(angle) * v + (Math.sin(angle) * orthogonal[i]) / length)
  return {azimuth: (Math.atan2(p[1], p[0]) * 180) / Math.PI, elevation: (Math.atan2(p[2], Math.hypot(p[0], p[1])) * 180) / Math.PI}
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

interface EventCheck {
  event: DescEvent
  medianError: number
  sweep: number
  windows: number
}

/**
 * Per event: FOA active-intensity directions of the 100 ms windows inside it that hold the source well above the
 * ambient noise (measured before the first onset), against the row's trajectory at each window's centre.
 */
function checkRecording(channels: Float32Array[], events: DescEvent[]): EventCheck[] {
  const power = (from: number, to: number) => {
    let sum = 0
    for (let i = from; i < to; i++) sum += channels[0][i] ** 2
    return sum / Math.max(1, to - from)
  }
  const noise = power(0, Math.floor(events[0].start * FS))
  return events.map((event) => {
    const [from, to] = [Math.round(event.start * FS), Math.round(event.end * FS)]
    const errors: number[] = []
    for (let start = from; start + WINDOW <= to; start += WINDOW) {
      if (power(start, start + WINDOW) < 100 * noise) continue
      const centre = (start + WINDOW / 2) / FS - event.start
      errors.push(angleBetween(foaIntensityDirection(channels, start, start + WINDOW), rowDirection(event, centre)))
    }
    const sweep = angleBetween(rowDirection(event, 0), rowDirection(event, event.end - event.start))
    return {event, medianError: errors.length > 0 ? median(errors) : NaN, sweep, windows: errors.length}
  })
}

function channelsOf(wav: Buffer, name: string): Float32Array[] {
  const pcm = parseWav(wav, name, {channels: 4, sampleRate: FS})
  const frames = pcm.samples.length / 4
  return [0, 1, 2, 3].map((c) => Float32Array.from({length: frames}, (_, i) => pcm.samples[4 * i + c] / 32768))
}

describe('seldpipe synth --moving (FOA, anechoic)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'seld-synth-moving-'))
  let entries: Map<string, Buffer>
  beforeAll(async () => {
    const run = spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'synth', '--kind', 'foa', '--room', 'anechoic', '--moving', '--ov', '1',
      '--split', '1', '--files', '3', '--duration', '20', '--seed', '11', '--out', out], {encoding: 'utf8'})
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/as dataset synth-foa-moving/)
    entries = await zipEntries(out)
  }, 60_000)
  afterAll(() => rmSync(out, {recursive: true, force: true}))

  it('refuses an angular velocity out of range, or without --moving, writing nothing', () => {
    const refused = path.join(out, 'refused')
    const run = (...flags: string[]) => spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'synth', '--files', '1', '--out', refused, ...flags], {encoding: 'utf8'})
    const zero = run('--moving', '--max-ang-vel', '0')
    expect(zero.status).not.toBe(0)
    expect(zero.stderr).toMatch(/expected an angular velocity in \(0, 360\] °\/s, got '0'/)
    const still = run('--max-ang-vel', '20')
    expect(still.status).toBe(2)
    expect(still.stderr).toMatch(/--max-ang-vel needs --moving/)
    expect(existsSync(refused)).toBe(false)
  })

  it('writes MANSIM-layout descriptions, and the active intensity follows each isolated event\'s trajectory within 5° (median)', () => {
    const checks: EventCheck[] = []
    const stillChecks: EventCheck[] = []
    for (const name of ['train_000', 'train_001', 'train_002', 'test_000']) {
      const csv = entries.get(`${name}.csv`)!.toString('utf8')
      expect(csv.split('\n')[0]).toBe(MOVING_DESC_HEADER)
      const events = parseDescCsv(csv, name, DCASE2016_CLASSES)
      // ov 1: no two events overlap, so each is heard alone.
      events.slice(1).forEach((event, i) => expect(event.start).toBeGreaterThanOrEqual(events[i].end))
      const channels = channelsOf(entries.get(`${name}.wav`)!, name)
      checks.push(...checkRecording(channels, events))
      stillChecks.push(...checkRecording(channels, events.map(({motion: _, ...event}) => event)))
    }
    const measured = checks.filter((check) => check.windows >= 3)
    expect(measured.length).toBeGreaterThan(15)
    for (const {event, medianError, windows} of measured) {
      expect(medianError, `line ${event.line}: ${windows} windows, median ${medianError.toFixed(1)}°`).toBeLessThanOrEqual(5)
    }
    // The sources do move: some sweep 10° or more, and reading those rows as still sources misses them.
    const sweeping = measured.filter((check) => check.sweep >= 10)
    expect(sweeping.length).toBeGreaterThan(3)
    expect(Math.max(...measured.map((check) => check.sweep))).toBeGreaterThan(20)
    const missedWhenStill = sweeping.filter((check) => stillChecks[checks.indexOf(check)].medianError > 5)
    expect(missedWhenStill.length).toBeGreaterThan(sweeping.length / 2)
  })
})

describe('moving synthetic datasets', () => {
  it('pairs each static synthetic dataset with a moving one that the synth stage renders moving', () => {
    const scene = {ov: 1, split: 1, trainFiles: 1, testFiles: 0, duration: 5, seed: 1, rt60: 0.4, shiftTestDoa: false}
    for (const [kind, room, name] of [['foa', 'anechoic', 'synth-foa-moving'], ['foa', 'reverberant', 'synth-foa-reverb-moving'],
      ['mic', 'anechoic', 'synth-mic-moving'], ['mic', 'reverberant', 'synth-mic-reverb-moving']] as const) {
      expect(syntheticDataset(kind, room, true).name).toBe(name)
      expect(datasetOptions(datasetSpec(name), scene)).toMatchObject({kind, room, moving: {maxAngularVelocity: 40}})
      expect(datasetOptions(syntheticDataset(kind, room), scene).moving).toBeUndefined()
    }
  })
})

describe('synthesizeRecording with moving sources', () => {
  const base: SynthOptions = {
    kind: 'foa', room: 'anechoic', classes: Object.keys(DCASE2016_CLASSES), sampleRate: FS, ov: 2, split: 1, trainFiles: 1, testFiles: 0,
    duration: 10, seed: 3, rt60: 0.4, shiftTestDoa: false,
  }
  const id = {name: 'train_000', set: 'train' as const, index: 0}

  it('keeps the static scene (times, classes, start directions) and moves no faster than asked', () => {
    const still = synthesizeRecording(base, createBank(base), id).events
    const slow = {...base, moving: {maxAngularVelocity: 15}}
    const moving = synthesizeRecording(slow, createBank(slow), id).events
    expect(moving.map(({motion: _, ...event}) => event)).toEqual(still)
    // 15 °/s allows only the published 10 °/s; below every published speed, the asked one is used.
    expect(moving.filter((event) => event.motion).map((event) => event.motion!.angularVelocity)).toEqual(moving.map(() => 10))
    const slowest = addMotion(Random.from('max-speed'), still, 5, FS)
    expect(new Set(slowest.map((event) => event.motion?.angularVelocity))).toEqual(new Set([5]))
    expect(() => addMotion(Random.from('max-speed'), still, 0, FS)).toThrow('max angular velocity must be in (0, 360] °/s, got 0')
  })

  it('renders a reverberant moving source whose early sound follows the trajectory', () => {
    const options: SynthOptions = {...base, room: 'reverberant', ov: 1, moving: {maxAngularVelocity: 40}}
    const recording = synthesizeRecording(options, createBank(options), id)
    const csvEvents = recording.events.map((e, i) => ({
      line: i + 2, className: e.className, classColumn: 0, start: e.start / FS, end: (e.start + e.length) / FS,
      azimuth: e.azimuth, elevation: e.elevation, motion: e.motion,
    }))
    // Reflections pull the intensity vector off the direct sound: a wider bound than in free field.
    const checks = checkRecording(recording.channels, csvEvents).filter((check) => check.windows >= 3)
    expect(checks.length).toBeGreaterThan(2)
    expect(checks.filter((check) => check.sweep >= 10).length).toBeGreaterThan(0)
    for (const check of checks) expect(check.medianError, `event at ${check.event.start.toFixed(2)} s`).toBeLessThan(8)
  })
})

describe('synthesizeRecording with moving sources, circular array', () => {
  it('lets GCC-PHAT over 100 ms windows follow each event\'s azimuth within 5° (median)', () => {
    const options: SynthOptions = {
      kind: 'mic', room: 'anechoic', classes: Object.keys(DCASE2016_CLASSES), sampleRate: FS, ov: 1, split: 1, trainFiles: 1, testFiles: 0,
      duration: 8, seed: 4, rt60: 0.4, shiftTestDoa: false, moving: {maxAngularVelocity: 40},
    }
    const {events, channels} = synthesizeRecording(options, createBank(options), {name: 'train_000', set: 'train', index: 0})
    const noiseTo = events[0].start
    let sweeping = 0
    let measured = 0
    for (const scene of events) {
      const event = {line: 0, className: scene.className, classColumn: 0, start: scene.start / FS, end: (scene.start + scene.length) / FS,
        azimuth: scene.azimuth, elevation: scene.elevation, motion: scene.motion}
      const errors: number[] = []
      for (let start = scene.start; start + WINDOW <= scene.start + scene.length; start += WINDOW) {
        const estimate = arrayDirection(channels, MIC_POSITIONS, start, start + WINDOW, 0, noiseTo, FS, SPEED_OF_SOUND)
        errors.push(azimuthDifference(estimate.azimuth, rowDirection(event, (start + WINDOW / 2) / FS - event.start).azimuth))
      }
      if (errors.length < 3) continue
      measured++
      if (angleBetween(rowDirection(event, 0), rowDirection(event, event.end - event.start)) >= 10) sweeping++
      expect(median(errors), `event at ${event.start.toFixed(2)} s`).toBeLessThanOrEqual(5)
    }
    expect(measured).toBeGreaterThan(2)
    expect(sweeping).toBeGreaterThan(0)
  })
})

describe('renderMovingEvent', () => {
  const dry = (() => {
    const rng = Random.from('moving-render', 1)
    return Float32Array.from({length: Math.round(0.7 * FS)}, () => rng.normal() * 0.1)
  })()
  const event: SceneEvent = {
    className: 'knock', number: 1, start: 2000, length: dry.length, azimuth: 40, elevation: 20, distance: 3,
    motion: {kind: 'great-circle', azimuthTowards: 100, elevationTowards: 20, angularVelocity: 0},
  }
  const size: Vec3 = [12, 9, 5]
  const receiver: Vec3 = [6, 4, 2]
  const beta = reflectionCoefficient(size, 0.3)
  const room = {size, receiver, beta, rt60: 0.3}
  /** A still source rendered the way synthesize.ts renders one. */
  function still(kind: 'foa' | 'mic', reverberant: boolean): Float32Array[] {
    const offset = unitVector(event.azimuth, event.elevation).map((v) => v * event.distance) as Vec3
    const paths = reverberant
      ? imageSources(size, [receiver[0] + offset[0], receiver[1] + offset[1], receiver[2] + offset[2]], receiver, beta, event.distance + SPEED_OF_SOUND * 0.3)
      : [{position: offset, gain: 1 / event.distance}]
    const out = Array.from({length: kind === 'foa' ? 4 : 8}, () => new Float32Array(2000 + dry.length + FS))
    convolveAdd(dry, renderResponses(kind, paths, event.distance, FS), out, event.start - RENDER_LATENCY)
    return out
  }
  function moving(kind: 'foa' | 'mic', reverberant: boolean): Float32Array[] {
    const out = Array.from({length: kind === 'foa' ? 4 : 8}, () => new Float32Array(2000 + dry.length + FS))
    renderMovingEvent(kind, event, dry, out, FS, 1, reverberant ? room : undefined)
    return out
  }
  const relativeError = (a: Float32Array[], b: Float32Array[]) => {
    let difference = 0
    let energy = 0
    a.forEach((channel, c) => channel.forEach((v, i) => {
      difference += (v - b[c][i]) ** 2
      energy += b[c][i] ** 2
    }))
    return Math.sqrt(difference / energy)
  }

  it('gives back the still rendering when the source does not move: the crossfades sum to one', () => {
    expect(relativeError(moving('foa', false), still('foa', false))).toBeLessThan(1e-5)
    expect(relativeError(moving('mic', false), still('mic', false))).toBeLessThan(1e-5)
  })

  it('keeps every reflection of the room, early ones block by block and the late ones once', () => {
    expect(relativeError(moving('foa', true), still('foa', true))).toBeLessThan(1e-3)
  })
})
