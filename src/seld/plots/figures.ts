/**
 * The SELD figures, drawn with the canvas toolkit: training curves per epoch, and a recording's spectrogram, activity
 * and directions (reference beside prediction).
 */
import {Axes, Figure, grid, niceTicks, percentileRange, seriesColor} from './canvas.js'
import {xyzToAzimuthElevation} from '../features/labels.js'

/** Upper end of a y axis showing `values` (at least `floor`), ignoring non-finite values. */
function top(values: number[], floor: number): number {
  const finite = values.filter(Number.isFinite)
  return Math.max(floor, ...finite) * 1.05
}

/** Per-epoch values as the log holds them (a NaN is written to JSON as null). */
export interface CurvePoint {
  epoch: number
  loss: number | null
  sedLoss: number | null
  doaLoss: number | null
  er: number | null
  f1: number | null
  frameRecall: number | null
  doaErrorDegrees: number | null
  seldScore: number | null
  /** Which recordings the scores are of (the test split when absent). */
  scoredOn?: 'validation' | 'test'
}

/** Training curves, 2 × 2: losses, detection metrics, DOA error and SELD score (best epoch marked) per epoch. */
export function drawTrainingCurves(records: CurvePoint[], title = 'Training'): Figure {
  const figure = new Figure(1200, 800)
  figure.title(title)
  const epochs = records.map((r) => r.epoch)
  const series = (key: Exclude<keyof CurvePoint, 'epoch' | 'scoredOn'>) => records.map((r) => r[key] ?? NaN)
  const scored = records[0]?.scoredOn === 'validation' ? 'the validation recordings' : 'the test split'
  const x: [number, number] = [Math.min(1, ...epochs), Math.max(2, ...epochs)]
  const xTicks = niceTicks(x[0], x[1], 8).filter(Number.isInteger)
  const [losses, detection, direction, score] = grid({x: 10, y: 34, width: 1180, height: 756}, 2, 2, 16)

  const lossAxes = figure.axes(losses, {title: 'Training loss', xLabel: 'epoch', x, xTicks, y: [0, top([...series('loss'), ...series('sedLoss'), ...series('doaLoss')], 1e-3)], grid: true})
  lossAxes.line(epochs, series('loss'), {label: 'total'})
  lossAxes.line(epochs, series('sedLoss'), {label: 'SED (weighted)'})
  lossAxes.line(epochs, series('doaLoss'), {label: 'DOA (weighted)'})
  lossAxes.legend()

  const detectionAxes = figure.axes(detection, {title: `Detection on ${scored}`, xLabel: 'epoch', x, xTicks, y: [0, top(series('er'), 1)], grid: true})
  detectionAxes.line(epochs, series('er'), {label: 'error rate'})
  detectionAxes.line(epochs, series('f1'), {label: 'F1'})
  detectionAxes.line(epochs, series('frameRecall'), {label: 'frame recall'})
  detectionAxes.legend()

  const directionAxes = figure.axes(direction, {title: `DOA error on ${scored}`, xLabel: 'epoch', yLabel: 'degrees', x, xTicks, y: [0, top(series('doaErrorDegrees'), 10)], grid: true})
  directionAxes.line(epochs, series('doaErrorDegrees'), {color: seriesColor(3)})

  const scores = series('seldScore')
  const scoreAxes = figure.axes(score, {title: `SELD score on ${scored} (lower is better)`, xLabel: 'epoch', x, xTicks, y: [0, top(scores, 1)], grid: true})
  scoreAxes.line(epochs, scores, {color: seriesColor(4)})
  scoreAxes.points(epochs, scores, {color: seriesColor(4), width: 5})
  const best = scores.reduce((b, s, i) => (Number.isFinite(s) && (b < 0 || s < scores[b]) ? i : b), -1)
  if (best >= 0) scoreAxes.vline(epochs[best], {note: `best: epoch ${epochs[best]}, ${scores[best].toFixed(3)}`})
  return figure
}

/** Per-frame SED activity (frames × K) and DOA vectors (frames × 3K: x of every class, then y, then z; or 2K). */
export interface SeldTracks {
  sed: Float32Array
  doa: Float32Array
}

export interface RecordingPicture {
  title: string
  /** Frames per second of the time axis (sample rate / hop). */
  framesPerSecond: number
  classNames: string[]
  /**
   * frames × bins values drawn as the spectrogram (e.g. the first channel's normalized magnitude); `frameStep` frames
   * of the time axis per row when a long recording was pooled (default 1).
   */
  spectrogram: {frames: number; bins: number; values: Float32Array; frameStep?: number}
  /** Model output: SED probabilities and DOA vectors. */
  prediction: SeldTracks
  /** Reference activity (0/1) and directions; without it only the prediction is drawn. */
  reference?: SeldTracks
  /** Activity above which a predicted class counts as active (its DOA is drawn). */
  threshold: number
  aziOnly: boolean
}

/** Azimuth and elevation (degrees) of class k's DOA vector at every frame where `active`, NaN elsewhere. */
function directions(tracks: SeldTracks, classes: number, k: number, aziOnly: boolean, active: (frame: number) => boolean) {
  const width = (aziOnly ? 2 : 3) * classes
  const frames = tracks.sed.length / classes
  const azimuth = new Float32Array(frames).fill(NaN)
  const elevation = new Float32Array(frames).fill(NaN)
  for (let f = 0; f < frames; f++) {
    if (!active(f)) continue
    const x = tracks.doa[f * width + k]
    const y = tracks.doa[f * width + classes + k]
    const z = aziOnly ? 0 : tracks.doa[f * width + 2 * classes + k]
    ;({azimuth: azimuth[f], elevation: elevation[f]} = xyzToAzimuthElevation(x, y, z))
  }
  return {azimuth, elevation}
}

/** The spectrogram drawRecording shows: channel 0 (the first channel's magnitude) of features frames × bins × 2C. */
export function spectrogramOf(features: {shape: number[]; data: Float32Array}): RecordingPicture['spectrogram'] {
  const [frames, bins, channels] = features.shape
  const values = new Float32Array(frames * bins)
  for (let i = 0; i < values.length; i++) values[i] = features.data[i * channels]
  return {frames, bins, values}
}

/** Degrees between consecutive frames beyond which a track is broken: no source turns that fast. */
export const MAX_TRACK_STEP = 20

/** Great-circle angle in degrees between two directions given in degrees. */
function stepBetween(azimuth0: number, elevation0: number, azimuth1: number, elevation1: number): number {
  const r = Math.PI / 180
  const cosine = Math.sin(elevation0 * r) * Math.sin(elevation1 * r) + Math.cos(elevation0 * r) * Math.cos(elevation1 * r) * Math.cos((azimuth1 - azimuth0) * r)
  return Math.acos(Math.min(1, Math.max(-1, cosine))) / r
}

/**
 * The tracks of one class in its `show` panel: a polyline through its directions in consecutive active frames (NaN
 * where inactive), with a dot at the start of each track of two frames or more. A track ends where the class stops
 * or its direction jumps by more than MAX_TRACK_STEP between frames (the published labels give an event's last
 * active frame the inactive direction 180°, 60°); the azimuth line is also broken, without ending the track, where it
 * wraps across ±180°, so a source moving behind the listener is not drawn crossing the whole panel.
 */
export function trackLines(time: ArrayLike<number>, angles: {azimuth: ArrayLike<number>; elevation: ArrayLike<number>}, show: 'azimuth' | 'elevation'): {x: number[]; y: number[]; startX: number[]; startY: number[]} {
  const {azimuth, elevation} = angles
  const values = angles[show]
  const track = {x: [] as number[], y: [] as number[], startX: [] as number[], startY: [] as number[]}
  const gap = () => {
    track.x.push(NaN)
    track.y.push(NaN)
  }
  let runLength = 0
  for (let f = 0; f < values.length; f++) {
    const continues = f > 0 && Number.isFinite(values[f]) && Number.isFinite(values[f - 1]) &&
      stepBetween(azimuth[f - 1], elevation[f - 1], azimuth[f], elevation[f]) <= MAX_TRACK_STEP
    if (!continues && runLength === 1) {
      // A lone frame is a dot already: no start marker.
      track.startX.pop()
      track.startY.pop()
    }
    if (!Number.isFinite(values[f])) {
      runLength = 0
      continue
    }
    if (!continues) {
      gap()
      track.startX.push(time[f])
      track.startY.push(values[f])
      runLength = 0
    } else if (show === 'azimuth' && Math.abs(values[f] - values[f - 1]) > 180) {
      gap()
    }
    runLength++
    track.x.push(time[f])
    track.y.push(values[f])
  }
  if (runLength === 1) {
    track.startX.pop()
    track.startY.pop()
  }
  return track
}

/**
 * One recording as in the SELDnet paper's figures: spectrogram on top, then SED activity per class, azimuth and
 * elevation over time per class (points only where the class is active, joined into tracks with a dot at each track's
 * start), reference and prediction side by side.
 */
export function drawRecording(picture: RecordingPicture): Figure {
  const {spectrogram, classNames, prediction, reference, threshold, aziOnly} = picture
  const classes = classNames.length
  const frames = prediction.sed.length / classes
  const seconds = frames / picture.framesPerSecond
  const time = Float32Array.from({length: frames}, (_, f) => f / picture.framesPerSecond)
  const sedHeight = Math.max(150, 18 * classes + 60)
  const doaRows = aziOnly ? 1 : 2
  const legendWidth = 130
  const width = 1400
  const height = 40 + 230 + sedHeight + 230 * doaRows
  const figure = new Figure(width, height)
  figure.title(picture.title)
  const body = {x: 10, y: 34, width: width - 20 - legendWidth, height: height - 44}
  // One left margin for every panel, so their time axes line up.
  const left = Math.max(Axes.leftMargin(figure.ctx, {yLabel: 'degrees'}), Axes.leftMargin(figure.ctx, {yTickLabels: classNames}))

  const spectrogramAxes = figure.axes({...body, height: 230}, {title: 'Spectrogram (first channel, normalized)', yLabel: 'frequency bin', x: [0, seconds], y: [0, spectrogram.bins], left})
  spectrogramAxes.heatmap(spectrogram.frames, spectrogram.bins, (f, b) => spectrogram.values[f * spectrogram.bins + b], {
    range: percentileRange(spectrogram.values),
    extent: {x: [0, (spectrogram.frames * (spectrogram.frameStep ?? 1)) / picture.framesPerSecond], y: [0, spectrogram.bins]},
  })

  const columns = reference ? [{name: 'reference', tracks: reference}, {name: 'prediction', tracks: prediction}] : [{name: 'prediction', tracks: prediction}]
  const rows = [{kind: 'sed', height: sedHeight}, {kind: 'azimuth', height: 230}, ...(aziOnly ? [] : [{kind: 'elevation', height: 230}])]
  let y = body.y + 230
  rows.forEach((row, r) => {
    const cells = grid({x: body.x, y, width: body.width, height: row.height}, 1, columns.length, 16)
    columns.forEach((column, c) => {
      const xLabel = r === rows.length - 1 ? 'time (s)' : undefined
      const {tracks} = column
      if (row.kind === 'sed') {
        const axes = figure.axes(cells[c], {
          title: `SED ${column.name}`, xLabel, x: [0, seconds], y: [0, classes],
          yTicks: classNames.map((_, k) => k + 0.5), yTickLabels: classNames, left,
        })
        axes.heatmap(frames, classes, (f, k) => tracks.sed[f * classes + k], {range: [0, 1]})
        return
      }
      const range: [number, number] = row.kind === 'azimuth' ? [-180, 180] : [-90, 90]
      const axes = figure.axes(cells[c], {
        title: `${row.kind === 'azimuth' ? 'Azimuth' : 'Elevation'} ${column.name}`, xLabel, yLabel: 'degrees',
        x: [0, seconds], y: range, yTicks: row.kind === 'azimuth' ? [-180, -90, 0, 90, 180] : [-90, -45, 0, 45, 90], grid: true, left,
      })
      for (let k = 0; k < classes; k++) {
        const angles = directions(tracks, classes, k, aziOnly, (f) => tracks.sed[f * classes + k] > threshold)
        const values = angles[row.kind as 'azimuth' | 'elevation']
        axes.points(time, values, {color: seriesColor(k), width: 3, label: classNames[k]})
        const track = trackLines(time, angles, row.kind as 'azimuth' | 'elevation')
        axes.line(track.x, track.y, {color: seriesColor(k), width: 1.5})
        axes.points(track.startX, track.startY, {color: seriesColor(k), width: 7})
      }
      if (row.kind === 'azimuth' && c === columns.length - 1) axes.legend('right')
    })
    y += row.height
  })
  return figure
}
