import {directionAt, type Motion} from '../features/trajectories.js'
import type {Random} from './random.js'
import type {SoundBank} from './sources.js'

/**
 * The plan of one recording, TUT 2018 style: events separated by gaps along `ov` independent tracks, so at most `ov`
 * events sound at once. Directions lie on a 10° grid (azimuth −180…170, elevation −60…50, or both shifted by +5° for
 * the unseen-DOA test), distances are 1–10 m with one decimal. Events that overlap in time never share a class (the
 * SELDnet labels hold one direction per class and frame) nor a direction.
 */
export interface SceneEvent {
  className: string
  /** Instance number within the class: the description names the event `<class><3 digits>.wav`. */
  number: number
  /** First sample of the event in the recording. */
  start: number
  /** Length in samples (the dry sound's length; reverberation may ring on after it). */
  length: number
  azimuth: number
  elevation: number
  /** Metres, one decimal. */
  distance: number
  /** A moving source's great circle (MANSIM layout): it starts at (azimuth, elevation). */
  motion?: Extract<Motion, {kind: 'great-circle'}>
}

export interface SceneOptions {
  classes: string[]
  bank: SoundBank
  set: 'train' | 'test'
  sampleRate: number
  /** Recording length in samples. */
  length: number
  /** Most events sounding at once. */
  ov: number
  /** Move every direction by +5° in azimuth and elevation (off the training grid). */
  shiftDoa: boolean
}

export const AZIMUTHS = Array.from({length: 36}, (_, i) => -180 + 10 * i)
export const ELEVATIONS = Array.from({length: 12}, (_, i) => -60 + 10 * i)
const DOA_SHIFT = 5
const MIN_DISTANCE = 1
export const MAX_DISTANCE = 10

/** Seconds of silence between consecutive events of one track, and before a track's first event. */
const GAP = [0.4, 1.2] as const
const FIRST_ONSET = [0.1, 2] as const
/** Events closer than this in time count as overlapping, so frame rounding of the labels cannot merge them. */
const OVERLAP_MARGIN = 0.1
/** Sounds tried at one position before a track ends (a long sound may not fit the remaining time). */
const ATTEMPTS = 8

export function planScene(rng: Random, options: SceneOptions): SceneEvent[] {
  const {sampleRate, length, ov} = options
  if (!Number.isInteger(ov) || ov < 1) throw new Error(`ov must be a positive integer, got ${ov}`)
  if (ov > options.classes.length) throw new Error(`ov ${ov} needs at least ${ov} classes; there are ${options.classes.length}`)
  const shift = options.shiftDoa ? DOA_SHIFT : 0
  const directions = AZIMUTHS.flatMap((azimuth) => ELEVATIONS.map((elevation) => ({azimuth: azimuth + shift, elevation: elevation + shift})))
  const margin = OVERLAP_MARGIN * sampleRate
  const events: SceneEvent[] = []
  const overlapping = (start: number, end: number): SceneEvent[] =>
    events.filter((e) => e.start < end + margin && start < e.start + e.length + margin)

  for (let track = 0; track < ov; track++) {
    let position = Math.round(rng.uniform(FIRST_ONSET[0], FIRST_ONSET[1]) * sampleRate)
    for (;;) {
      let placed: SceneEvent | undefined
      for (let attempt = 0; attempt < ATTEMPTS && !placed; attempt++) {
        const className = rng.pick(options.classes)
        const number = rng.pick(options.bank.numbers(className, options.set))
        const soundLength = options.bank.instance(className, number).length
        if (position + soundLength > length) continue
        const others = overlapping(position, position + soundLength)
        if (others.some((e) => e.className === className)) continue
        const free = directions.filter((d) => !others.some((e) => e.azimuth === d.azimuth && e.elevation === d.elevation))
        const {azimuth, elevation} = rng.pick(free)
        const distance = Math.round(rng.uniform(MIN_DISTANCE, MAX_DISTANCE) * 10) / 10
        placed = {className, number, start: position, length: soundLength, azimuth, elevation, distance}
      }
      if (!placed) break
      events.push(placed)
      position = placed.start + placed.length + Math.round(rng.uniform(GAP[0], GAP[1]) * sampleRate)
    }
  }
  return events.sort((a, b) => a.start - b.start)
}

/** Angular velocities of the published moving-source sets, °/s. */
export const ANGULAR_VELOCITIES = [10, 20, 40]
/** Offsets from the start of the direction a source moves towards, degrees (azimuth, elevation), as in MANSIM. */
const TOWARDS_AZIMUTH = [-60, -30, 30, 60]
const TOWARDS_ELEVATION = [-20, -10, 0, 10, 20]
/** A moving source stays within this elevation, so reverberant rooms, sized for the grid, still hold it. */
const MAX_MOVING_ELEVATION = 60
/** Motions tried per event before the source is left still. */
const MOTION_ATTEMPTS = 16

/**
 * Sets every event moving on a great circle, MANSIM style: towards a direction 30° or 60° away in azimuth (and up to
 * 20° in elevation) at an angular velocity of the published sets up to `maxAngularVelocity` (that value itself when
 * it is below all of them). Motions drawn from a separate stream leave the scene (times, classes, start directions)
 * that of the static dataset. A motion whose path would leave ±60° elevation during the event is drawn again.
 */
export function addMotion(rng: Random, events: SceneEvent[], maxAngularVelocity: number, sampleRate: number): SceneEvent[] {
  if (!(maxAngularVelocity > 0 && maxAngularVelocity <= 360)) throw new Error(`max angular velocity must be in (0, 360] °/s, got ${maxAngularVelocity}`)
  const allowed = ANGULAR_VELOCITIES.filter((v) => v <= maxAngularVelocity)
  const velocities = allowed.length > 0 ? allowed : [maxAngularVelocity]
  return events.map((event) => {
    for (let attempt = 0; attempt < MOTION_ATTEMPTS; attempt++) {
      const motion = {
        kind: 'great-circle' as const,
        azimuthTowards: event.azimuth + rng.pick(TOWARDS_AZIMUTH),
        elevationTowards: Math.max(-80, Math.min(80, event.elevation + rng.pick(TOWARDS_ELEVATION))),
        angularVelocity: rng.pick(velocities),
      }
      const seconds = event.length / sampleRate
      let inside = true
      for (let t = 0; t <= seconds + 0.05 && inside; t += 0.05) {
        inside = Math.abs(directionAt(event.azimuth, event.elevation, motion, t).elevation) <= MAX_MOVING_ELEVATION
      }
      if (inside) return {...event, motion}
    }
    return event
  })
}

export const DESC_HEADER = 'sound_event_recording,start_time,end_time,ele,azi,dist'
/** The MANSIM description header: a source moves from (azi, ele) towards (azi_dir, ele_dir) at ang_vel °/s. */
export const MOVING_DESC_HEADER = 'sound_event_recording,start_time,end_time,ele,azi,ele_dir,azi_dir,ang_vel,dist'

/**
 * The description file of a recording, in the TUT 2018 format (times in seconds with 6 decimals), or with `moving`
 * in the MANSIM format (a still event there moves towards its own direction at 0 °/s).
 */
export function descCsv(events: SceneEvent[], sampleRate: number, moving = false): string {
  const rows = events.map((e) => [
    `${e.className}${String(e.number).padStart(3, '0')}.wav`,
    (e.start / sampleRate).toFixed(6),
    ((e.start + e.length) / sampleRate).toFixed(6),
    e.elevation,
    e.azimuth,
    ...(moving ? [e.motion?.elevationTowards ?? e.elevation, e.motion?.azimuthTowards ?? e.azimuth, e.motion?.angularVelocity ?? 0] : []),
    e.distance.toFixed(1),
  ].join(','))
  return [moving ? MOVING_DESC_HEADER : DESC_HEADER, ...rows].join('\n') + '\n'
}
