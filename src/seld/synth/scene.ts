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

export const DESC_HEADER = 'sound_event_recording,start_time,end_time,ele,azi,dist'

/** The description file of a recording, in the TUT 2018 format (times in seconds with 6 decimals). */
export function descCsv(events: SceneEvent[], sampleRate: number): string {
  const rows = events.map((e) => [
    `${e.className}${String(e.number).padStart(3, '0')}.wav`,
    (e.start / sampleRate).toFixed(6),
    ((e.start + e.length) / sampleRate).toFixed(6),
    e.elevation,
    e.azimuth,
    e.distance.toFixed(1),
  ].join(','))
  return [DESC_HEADER, ...rows].join('\n') + '\n'
}
