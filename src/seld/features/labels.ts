import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {URBANSOUND_CLASSES, frameGrid, recordingFrames, type DatasetSpec} from './datasets.js'
import {publishedTrajectory, type Motion} from './trajectories.js'
import {writeNpy, type NdArray} from '../io/npy.js'

/** One row of a description file: a sound event with its direction of arrival. */
export interface DescEvent {
  /** 1-based line of the csv, for messages. */
  line: number
  className: string
  /** Output column of the class in the dataset's dictionary. */
  classColumn: number
  /** Seconds. */
  start: number
  end: number
  /** Degrees. */
  azimuth: number
  elevation: number
  /** Metres, when the file has the column. */
  distance?: number
  /** How the source moves from (azimuth, elevation), when the file has the moving-source columns. */
  motion?: Motion
}

/** The class of a description row from its recording's file name. */
export type RecordingClass = (recording: string) => string

/** DCASE 2016 task 2 names: the name before the first dot without its last 3 characters (`knock012.wav` is `knock`). */
export const dcaseRecordingClass: RecordingClass = (recording) => recording.split('.')[0].slice(0, -3)

/** UrbanSound8K names `<fsID>-<classID>-<occurrence>-<slice>.wav`: the second `-`-separated field. */
export const urbanSoundRecordingClass: RecordingClass = (recording) => recording.split('.')[0].split('-')[1] ?? ''

/** The naming rule that goes with a dataset's class dictionary, as the published code picks it. */
export function recordingClassOf(dataset: DatasetSpec): RecordingClass {
  return dataset.classIndex === URBANSOUND_CLASSES ? urbanSoundRecordingClass : dcaseRecordingClass
}

/** Azimuth and elevation (degrees) the published labels give an inactive class. */
export const INACTIVE_AZIMUTH = 180
export const INACTIVE_ELEVATION = 60

const REQUIRED_COLUMNS = ['sound_event_recording', 'start_time', 'end_time', 'ele', 'azi'] as const
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/**
 * Parses a TUT Sound Events 2018 description file (header `sound_event_recording,start_time,end_time,ele,azi,dist`),
 * or a moving-source one: MANSIM adds `ele_dir,azi_dir,ang_vel` (a great circle), MREAL adds `ang_vel` (an azimuth
 * ramp). The class of a row comes from its recording's name by `recordingClass`. Any malformed row is an error naming
 * `name` and the line.
 */
export function parseDescCsv(text: string, name: string, classIndex: Record<string, number>, recordingClass = dcaseRecordingClass): DescEvent[] {
  // Spreadsheet programs may save a byte order mark before the header.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const fail = (line: number, problem: string) => new Error(`${name}:${line}: ${problem}`)
  const header = lines[0].split(',').map((column) => column.trim())
  const column: Record<string, number> = {}
  header.forEach((title, index) => (column[title] = index))
  const towards = ['ele_dir', 'azi_dir'].filter((title) => column[title] !== undefined)
  const required = [...REQUIRED_COLUMNS, ...(towards.length > 0 ? ['ele_dir', 'azi_dir', 'ang_vel'] : [])]
  for (const title of required) {
    if (column[title] === undefined) throw fail(1, `missing column '${title}' (header: ${lines[0]})`)
  }
  const events: DescEvent[] = []
  for (let index = 1; index < lines.length; index++) {
    const line = index + 1
    if (lines[index].trim() === '') continue
    const fields = lines[index].split(',').map((field) => field.trim())
    if (fields.length !== header.length) throw fail(line, `${fields.length} fields, the header has ${header.length}`)
    const number = (title: string, low: number, high: number) => {
      const text = fields[column[title]]
      if (!NUMBER.test(text)) throw fail(line, `${title} '${text}' is not a number`)
      const value = Number(text)
      if (value < low || value > high) throw fail(line, `${title} ${value} is outside ${low} … ${high}`)
      return value
    }
    const recording = fields[column.sound_event_recording]
    const className = recordingClass(recording)
    const classColumn = Object.hasOwn(classIndex, className) ? classIndex[className] : undefined
    if (classColumn === undefined) throw fail(line, `unknown class '${className}' of '${recording}' (known: ${Object.keys(classIndex).join(', ')})`)
    const start = number('start_time', 0, Infinity)
    const end = number('end_time', 0, Infinity)
    if (end < start) throw fail(line, `end_time ${end} is before start_time ${start}`)
    const event: DescEvent = {
      line, className, classColumn, start, end,
      elevation: number('ele', -90, 90),
      azimuth: number('azi', -180, 180),
    }
    if (column.dist !== undefined) event.distance = number('dist', 0, Infinity)
    if (column.ang_vel !== undefined) {
      const angularVelocity = number('ang_vel', -360, 360)
      event.motion = column.azi_dir !== undefined || column.ele_dir !== undefined
        ? {kind: 'great-circle', azimuthTowards: number('azi_dir', -360, 360), elevationTowards: number('ele_dir', -90, 90), angularVelocity}
        : {kind: 'azimuth-ramp', angularVelocity}
    }
    events.push(event)
  }
  return events
}

/** The frame grid labels are computed on: a dataset's fixed recording length at hop nfft/2. */
export interface LabelGrid {
  frames: number
  classes: number
  framesPerSecond: number
}

export function labelGrid(dataset: DatasetSpec, nfft: number): LabelGrid {
  return {
    frames: recordingFrames(dataset, nfft),
    classes: Object.keys(dataset.classIndex).length,
    framesPerSecond: frameGrid(dataset.sampleRate, nfft).framesPerSecond,
  }
}

/**
 * The published regression label matrix: frames × 3K (K activities, K azimuths, K elevations in degrees; 180 / 60
 * where inactive). As in the published code, an event is active on frames floor(start·rate) … ceil(end·rate) but
 * its direction covers one frame less, and a later row overwrites an earlier one. A moving event's direction follows
 * its published per-frame trajectory (trajectories.ts).
 */
export function labelMatrix(events: DescEvent[], grid: LabelGrid): NdArray {
  const {frames, classes: K, framesPerSecond} = grid
  const width = 3 * K
  const data = new Float32Array(frames * width)
  for (let f = 0; f < frames; f++) {
    data.fill(INACTIVE_AZIMUTH, f * width + K, f * width + 2 * K)
    data.fill(INACTIVE_ELEVATION, f * width + 2 * K, (f + 1) * width)
  }
  for (const event of events) {
    const first = Math.floor(event.start * framesPerSecond)
    const last = Math.min(Math.ceil(event.end * framesPerSecond), frames)
    for (let f = first; f <= last && f < frames; f++) data[f * width + event.classColumn] = 1
    if (first >= last) continue
    const trajectory = event.motion ? publishedTrajectory(event.azimuth, event.elevation, event.motion, last - first, framesPerSecond) : undefined
    for (let f = first; f < last; f++) {
      data[f * width + K + event.classColumn] = trajectory ? trajectory.azimuth[f - first] : event.azimuth
      data[f * width + 2 * K + event.classColumn] = trajectory ? trajectory.elevation[f - first] : event.elevation
    }
  }
  return {shape: [frames, width], data}
}

/**
 * Network targets from a label matrix: frames × 4K (K activities, then x of every class, then y, then z on the unit
 * sphere; zeros where inactive), as the published data generator derives them. On an event's last active frame the
 * label holds the inactive direction (180°, 60°), and the published targets keep it there.
 */
export function labelToTargets(label: NdArray): NdArray {
  const [frames, width] = label.shape
  const K = width / 3
  const targets = new Float32Array(frames * 4 * K)
  const degrees = Math.PI / 180
  for (let f = 0; f < frames; f++) {
    const row = f * width
    const out = f * 4 * K
    for (let k = 0; k < K; k++) {
      const active = label.data[row + k]
      targets[out + k] = active
      if (active === 0) continue
      const azimuth = label.data[row + K + k] * degrees
      const elevation = label.data[row + 2 * K + k] * degrees
      targets[out + K + k] = Math.cos(azimuth) * Math.cos(elevation)
      targets[out + 2 * K + k] = Math.sin(azimuth) * Math.cos(elevation)
      targets[out + 3 * K + k] = Math.sin(elevation)
    }
  }
  return {shape: [frames, 4 * K], data: targets}
}

/** Direction in degrees (azimuth −180 … 180, elevation −90 … 90) of a vector of any length. */
export function xyzToAzimuthElevation(x: number, y: number, z: number): {azimuth: number; elevation: number} {
  return {azimuth: (Math.atan2(y, x) * 180) / Math.PI, elevation: (Math.atan2(z, Math.hypot(x, y)) * 180) / Math.PI}
}

/**
 * Back from targets (or network outputs) frames × 4K to the label layout frames × 3K: a class is active where its
 * activity exceeds `threshold`, with the direction of its x, y, z; inactive classes get 180 / 60.
 */
export function targetsToLabel(targets: NdArray, threshold = 0.5): NdArray {
  const [frames, width] = targets.shape
  const K = width / 4
  const label = new Float32Array(frames * 3 * K)
  for (let f = 0; f < frames; f++) {
    const row = f * width
    const out = f * 3 * K
    for (let k = 0; k < K; k++) {
      const active = targets.data[row + k] > threshold
      const {azimuth, elevation} = active
        ? xyzToAzimuthElevation(targets.data[row + K + k], targets.data[row + 2 * K + k], targets.data[row + 3 * K + k])
        : {azimuth: INACTIVE_AZIMUTH, elevation: INACTIVE_ELEVATION}
      label[out + k] = active ? 1 : 0
      label[out + K + k] = azimuth
      label[out + 2 * K + k] = elevation
    }
  }
  return {shape: [frames, 3 * K], data: label}
}

/** How far past the recording's end an event may end: a small overrun is clipped to the last frame, as published. */
export const END_TOLERANCE_SECONDS = 1

/**
 * Refuses events that would get no or mislabelled frames: starting at or after the recording's end, or ending well
 * past it (times in milliseconds, or a stray exponent), naming the file and line.
 */
export function checkEventsWithin(events: readonly DescEvent[], seconds: number, name: string): void {
  for (const event of events) {
    if (event.start >= seconds || event.end > seconds + END_TOLERANCE_SECONDS) {
      const at = event.start >= seconds ? `starts at ${event.start} s` : `ends at ${event.end} s`
      throw new Error(`${name}:${event.line}: the event ${at}, past the end of the dataset's ${seconds} s recordings (times must be in seconds)`)
    }
  }
}

/** Label matrix and targets of one description file, written as `labelFile` and `targetsFile`. */
export function writeLabelFiles(csvFile: string, labelFile: string, targetsFile: string, dataset: DatasetSpec, nfft: number): void {
  let text: string
  try {
    text = readFileSync(csvFile, 'utf8')
  } catch (error) {
    throw new Error(`${csvFile}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  const events = parseDescCsv(text, csvFile, dataset.classIndex, recordingClassOf(dataset))
  checkEventsWithin(events, dataset.seconds, csvFile)
  const label = labelMatrix(events, labelGrid(dataset, nfft))
  writeNpy(labelFile, label)
  writeNpy(targetsFile, labelToTargets(label))
}

/** Where the targets of a label file go: `<name>.npy` → `<name>.targets.npy`. */
export function targetsPath(labelFile: string): string {
  return labelFile.replace(/(\.npy)?$/, '.targets.npy')
}

/** Writes <out>/<name>.npy and <out>/<name>.targets.npy for every <descDir>/<name>.csv; returns the names. */
export function writeLabelDirectory(descDir: string, outDir: string, dataset: DatasetSpec, nfft: number): string[] {
  const names = readdirSync(descDir).filter((file) => file.endsWith('.csv')).sort().map((file) => file.slice(0, -4))
  if (names.length === 0) throw new Error(`${descDir}: no .csv description files`)
  for (const name of names) {
    const labelFile = path.join(outDir, `${name}.npy`)
    writeLabelFiles(path.join(descDir, `${name}.csv`), labelFile, targetsPath(labelFile), dataset, nfft)
  }
  return names
}
