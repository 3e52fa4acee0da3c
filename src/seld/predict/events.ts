import {xyzToAzimuthElevation, type DescEvent} from '../features/labels.js'
import {directionAt} from '../features/trajectories.js'

/**
 * What a SELD model says about one recording, frame by frame, in the layout of the published code: `sed` is
 * frames × K activities in [0, 1]; `doa` is frames × 3K (x of every class, then y, then z) or frames × 2K for an
 * azimuth-only model (x, then y).
 */
export interface FramePredictions {
  frames: number
  classes: number
  sed: Float32Array
  doa: Float32Array
  /** Seconds between consecutive frames (the feature hop). */
  frameSeconds: number
}

/** One detected sound event. Frames are inclusive indices into the predictions. */
export interface SoundEvent {
  classIndex: number
  className: string
  firstFrame: number
  lastFrame: number
  /** Seconds. */
  onset: number
  offset: number
  /** Degrees, from the mean DOA vector over the event's frames. */
  azimuth: number
  elevation: number
  /** Mean activity over the event's frames. */
  confidence: number
  /** Directions where the event starts and ends: mean DOA vectors over its first and last frames (see eventEnds). */
  start: Direction
  end: Direction
  /** Mean angular velocity, °/s: the angle from the start to the end direction over the time between them. */
  angularVelocity: number
}

export interface Direction {
  /** Degrees. */
  azimuth: number
  elevation: number
}

/** One frame of an event's track: seconds from the recording's start, and the class's direction in that frame. */
export interface TrackPoint extends Direction {
  time: number
}

/** Seconds at each end of an event whose DOA vectors are averaged into its start and end directions. */
export const TRACK_END_SECONDS = 0.1

/**
 * How frames become events. A class is active in a frame when its activity is above `threshold` (strictly, as the
 * published code thresholds). Consecutive active frames form an event; two events of the same class separated by at
 * most `maxGapSeconds` of inactive frames are one event (a sound whose activity dips briefly is not split); after
 * that, events shorter than `minDurationSeconds` are dropped (isolated blips of a few frames are noise: the sounds of
 * these datasets last tenths of a second at least).
 */
export interface EventOptions {
  threshold: number
  maxGapSeconds: number
  minDurationSeconds: number
}

export const DEFAULT_EVENT_OPTIONS: EventOptions = {threshold: 0.5, maxGapSeconds: 0.1, minDurationSeconds: 0.05}

/** Number of DOA components per class (3 for x, y, z; 2 for azimuth-only models), checked against the arrays. */
export function doaComponents(predictions: FramePredictions): 2 | 3 {
  const {frames, classes, sed, doa} = predictions
  if (sed.length !== frames * classes) throw new Error(`SED holds ${sed.length} values, expected ${frames} frames × ${classes} classes`)
  const components = doa.length / (frames * classes)
  if (components !== 2 && components !== 3) {
    throw new Error(`DOA holds ${doa.length} values, expected ${frames} frames × ${classes} classes × 2 or 3 components`)
  }
  return components
}

/** Azimuth and elevation in degrees of the mean DOA vector of class `k` over frames `from` … `to` inclusive. */
export function meanDirection(predictions: FramePredictions, k: number, from: number, to: number): {azimuth: number; elevation: number} {
  const components = doaComponents(predictions)
  const {classes, doa} = predictions
  const width = components * classes
  let x = 0
  let y = 0
  let z = 0
  for (let frame = from; frame <= to; frame++) {
    x += doa[frame * width + k]
    y += doa[frame * width + classes + k]
    if (components === 3) z += doa[frame * width + 2 * classes + k]
  }
  // The mean's length does not matter for its direction: the sums point the same way.
  return xyzToAzimuthElevation(x, y, z)
}

/**
 * Start and end directions of class k's event over frames `first` … `last` and its mean angular velocity. Each end
 * averages the DOA vectors of TRACK_END_SECONDS of frames (at most half the event, at least one frame), so a single
 * noisy frame does not set the direction; the velocity is the angle between the two over the time between the
 * centres of the two stretches (0 for an event of one frame).
 */
export function eventEnds(predictions: FramePredictions, k: number, first: number, last: number): {start: Direction; end: Direction; angularVelocity: number} {
  const length = last - first + 1
  const span = Math.max(1, Math.min(Math.round(TRACK_END_SECONDS / predictions.frameSeconds), Math.floor(length / 2)))
  const start = meanDirection(predictions, k, first, first + span - 1)
  const end = meanDirection(predictions, k, last - span + 1, last)
  const seconds = (length - span) * predictions.frameSeconds
  return {start, end, angularVelocity: seconds > 0 ? angleBetween(start, end) / seconds : 0}
}

/** The per-frame directions of an event's class over its frames (gaps bridged into the event included). */
export function eventTrack(predictions: FramePredictions, event: SoundEvent): TrackPoint[] {
  const points: TrackPoint[] = []
  for (let frame = event.firstFrame; frame <= event.lastFrame; frame++) {
    points.push({time: frame * predictions.frameSeconds, ...meanDirection(predictions, event.classIndex, frame, frame)})
  }
  return points
}

/** Turns per-frame predictions into events, sorted by onset then class. Times follow the label convention (see below). */
export function framesToEvents(predictions: FramePredictions, classNames: string[], options: EventOptions = DEFAULT_EVENT_OPTIONS): SoundEvent[] {
  doaComponents(predictions)
  const {frames, classes, sed, frameSeconds} = predictions
  if (classNames.length !== classes) throw new Error(`${classNames.length} class names for a model of ${classes} classes`)
  const maxGapFrames = Math.floor(options.maxGapSeconds / frameSeconds + 1e-9)
  const events: SoundEvent[] = []
  for (let k = 0; k < classes; k++) {
    const runs: Array<[number, number]> = []
    for (let frame = 0; frame < frames; frame++) {
      if (!(sed[frame * classes + k] > options.threshold)) continue
      const last = runs.at(-1)
      if (last && frame - last[1] - 1 <= maxGapFrames) last[1] = frame
      else runs.push([frame, frame])
    }
    for (const [first, last] of runs) {
      // Onset and offset invert the labels' frame coverage (an event from s to e covers frames floor(s/hop) … ceil(e/hop)),
      // so a perfectly predicted event gives back its annotated times to within one hop.
      const onset = first * frameSeconds
      const offset = last * frameSeconds
      if (offset - onset < options.minDurationSeconds - 1e-9) continue
      let activity = 0
      for (let frame = first; frame <= last; frame++) activity += sed[frame * classes + k]
      events.push({
        classIndex: k,
        className: classNames[k],
        firstFrame: first,
        lastFrame: last,
        onset,
        offset,
        ...meanDirection(predictions, k, first, last),
        confidence: activity / (last - first + 1),
        ...eventEnds(predictions, k, first, last),
      })
    }
  }
  return events.sort((a, b) => a.onset - b.onset || a.classIndex - b.classIndex)
}

export type EventFormat = 'csv' | 'json' | 'dcase'
export const EVENT_FORMATS: readonly EventFormat[] = ['csv', 'json', 'dcase']

const round = (value: number, digits: number) => Number(value.toFixed(digits))

/**
 * The fields a user sees, rounded to what is meaningful: milliseconds, tenths of a degree, three decimals. The first
 * six are those of still sources; the track's ends and mean angular velocity (°/s) follow.
 */
function publicFields(event: SoundEvent) {
  return {
    class: event.className,
    onset: round(event.onset, 3),
    offset: round(event.offset, 3),
    azimuth: round(event.azimuth, 1),
    elevation: round(event.elevation, 1),
    confidence: round(event.confidence, 3),
    start_azimuth: round(event.start.azimuth, 1),
    start_elevation: round(event.start.elevation, 1),
    end_azimuth: round(event.end.azimuth, 1),
    end_elevation: round(event.end.elevation, 1),
    angular_velocity: round(event.angularVelocity, 1),
  }
}

export const CSV_HEADER = 'class,onset,offset,azimuth,elevation,confidence,start_azimuth,start_elevation,end_azimuth,end_elevation,angular_velocity'

export function eventsToCsv(events: SoundEvent[]): string {
  const rows = events.map((event) => Object.values(publicFields(event)).join(','))
  return [CSV_HEADER, ...rows].join('\n') + '\n'
}

/** The csv fields of every event, and its per-frame track: `track: [{time, azimuth, elevation}, ...]`. */
export function eventsToJson(events: SoundEvent[], predictions: FramePredictions): string {
  const tracked = events.map((event) => ({
    ...publicFields(event),
    track: eventTrack(predictions, event).map((point) => ({time: round(point.time, 3), azimuth: round(point.azimuth, 1), elevation: round(point.elevation, 1)})),
  }))
  return JSON.stringify(tracked, null, 2) + '\n'
}

/** DCASE 2019 task 3 frames: 20 ms hops. */
export const DCASE_FRAME_SECONDS = 0.02

/**
 * DCASE 2019 task 3 output: one row `frame,class,azimuth,elevation` per active class in each 20 ms frame, with integer
 * class index and integer degrees, no header (the challenge's evaluation code reads every row as numbers). A class is
 * active in a DCASE frame when one of its events covers the frame's start time; the direction is the mean DOA vector of
 * the model frames of that event falling inside the DCASE frame (the nearest one when the model hop is longer).
 */
export function eventsToDcase(events: SoundEvent[], predictions: FramePredictions): string {
  const {frameSeconds} = predictions
  const rows: Array<[number, number, number, number]> = []
  for (const event of events) {
    const firstDcase = Math.ceil(event.onset / DCASE_FRAME_SECONDS - 1e-9)
    const lastDcase = Math.floor(event.offset / DCASE_FRAME_SECONDS + 1e-9)
    for (let j = firstDcase; j <= lastDcase; j++) {
      let from = Math.max(event.firstFrame, Math.ceil((j * DCASE_FRAME_SECONDS) / frameSeconds - 1e-9))
      let to = Math.min(event.lastFrame, Math.ceil(((j + 1) * DCASE_FRAME_SECONDS) / frameSeconds - 1e-9) - 1)
      if (from > to) {
        const nearest = Math.min(event.lastFrame, Math.max(event.firstFrame, Math.round((j * DCASE_FRAME_SECONDS) / frameSeconds)))
        from = to = nearest
      }
      const {azimuth, elevation} = meanDirection(predictions, event.classIndex, from, to)
      rows.push([j, event.classIndex, Math.round(azimuth), Math.round(elevation)])
    }
  }
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  return rows.map((row) => row.join(',') + '\n').join('')
}

/** The text of a predictions file in `format`; the file extension each format takes is `formatExtension`. */
export function formatEvents(format: EventFormat, events: SoundEvent[], predictions: FramePredictions): string {
  if (format === 'csv') return eventsToCsv(events)
  if (format === 'json') return eventsToJson(events, predictions)
  return eventsToDcase(events, predictions)
}

export function formatExtension(format: EventFormat): string {
  return format === 'json' ? 'json' : 'csv'
}

/** How well events match annotated ones (a description file's rows), as the acceptance of `seldpipe predict` counts it. */
export interface EventScore {
  /** 1-second segments of the recording. */
  segments: number
  /**
   * F1 over (segment, class) pairs: a class is present in a segment when one of its events overlaps it (1 when neither
   * side has any event).
   */
  f1: number
  annotated: number
  /**
   * Great-circle distance in degrees between each matched annotated event and its predicted event (for a moving
   * source, from the annotated direction halfway through the event).
   */
  directionErrors: number[]
  /** Median of directionErrors, NaN when no annotated event was matched. */
  medianDirectionError: number
}

/** Great-circle distance in degrees between two directions given as azimuth and elevation in degrees. */
export function angleBetween(a: {azimuth: number; elevation: number}, b: {azimuth: number; elevation: number}): number {
  const radians = Math.PI / 180
  const [e1, e2] = [a.elevation * radians, b.elevation * radians]
  const cosine = Math.sin(e1) * Math.sin(e2) + Math.cos(e1) * Math.cos(e2) * Math.cos((a.azimuth - b.azimuth) * radians)
  return Math.acos(Math.min(1, Math.max(-1, cosine))) / radians
}

/**
 * Scores `events` of a recording of `seconds` against `annotated` events: F1 over 1-second segments, and for every
 * annotated event overlapped in time by predicted events of its class, the direction error of the one overlapping it
 * most.
 */
export function scoreEvents(events: SoundEvent[], annotated: DescEvent[], seconds: number): EventScore {
  const segments = Math.ceil(seconds)
  const present = (onset: number, offset: number, segment: number) => onset < segment + 1 && offset >= segment
  let truePositives = 0
  let falsePositives = 0
  let falseNegatives = 0
  const classes = new Set([...events.map((e) => e.classIndex), ...annotated.map((a) => a.classColumn)])
  for (let segment = 0; segment < segments; segment++) {
    for (const k of classes) {
      const predicted = events.some((e) => e.classIndex === k && present(e.onset, e.offset, segment))
      const reference = annotated.some((a) => a.classColumn === k && present(a.start, a.end, segment))
      if (predicted && reference) truePositives++
      else if (predicted) falsePositives++
      else if (reference) falseNegatives++
    }
  }
  const directionErrors: number[] = []
  for (const reference of annotated) {
    const overlap = (e: SoundEvent) => Math.min(e.offset, reference.end) - Math.max(e.onset, reference.start)
    const candidates = events.filter((e) => e.classIndex === reference.classColumn && overlap(e) >= 0)
    if (candidates.length === 0) continue
    const best = candidates.reduce((a, b) => (overlap(b) > overlap(a) ? b : a))
    // A moving source's mean direction lies near the middle of its path.
    const annotatedDirection = directionAt(reference.azimuth, reference.elevation, reference.motion, (reference.end - reference.start) / 2)
    directionErrors.push(angleBetween(best, annotatedDirection))
  }
  const sorted = [...directionErrors].sort((a, b) => a - b)
  const middle = sorted.length / 2
  const median = sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2
  const scored = 2 * truePositives + falsePositives + falseNegatives
  return {
    segments,
    f1: scored === 0 ? 1 : (2 * truePositives) / scored,
    annotated: annotated.length,
    directionErrors,
    medianDirectionError: median,
  }
}
