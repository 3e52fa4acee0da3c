/**
 * The DCASE joint (location-aware) SELD metrics, as the DCASE 2022–2023 baselines compute them (SELDMetrics with
 * macro averaging; Mesaros et al., WASPAA 2019, with the multi-instance extension of Politis et al., TASLP 2020):
 * location-aware error rate and F-score (a detection counts only within 20° of its reference), class-dependent
 * localization error and recall. Scored on 1-second segments; within a segment the predicted DOAs of a class are
 * paired frame by frame with its reference DOAs by minimum-cost (Hungarian) assignment.
 */
import {checkFrames, EPS, type SeldFrames} from './frames.js'

/** A detection is correct when its mean angular error over the segment is at most this many degrees. */
export const DOA_THRESHOLD_DEGREES = 20

export interface JointInput extends SeldFrames {
  /** Frames per 1-second segment. */
  framesPerSecond: number
  /**
   * Tracks per frame, for several simultaneous events of one class: the arrays then hold frames × tracks rows
   * (row frame·tracks + track), and a reference track is identified by its row within the frame (the baselines'
   * TODO; the 2022 and 2023 codes both number the active tracks of each frame instead, which mixes up tracks when one
   * pauses). Default 1, the SELDnet 2018 output format, where the two agree.
   */
  tracks?: number
  /**
   * Frames of each recording when several are concatenated: segments then restart at every recording, as the baseline
   * scores file by file. Default: one recording.
   */
  recordingFrames?: number[]
}

export interface ClasswiseJointMetrics {
  f20: number[]
  leCd: number[]
  lrCd: number[]
}

export interface JointMetrics {
  /** Location-aware error rate, over all classes. */
  er20: number
  /** Location-aware F-score, macro average over classes. */
  f20: number
  /** Class-dependent localization error in degrees, macro average (180 for a class never detected). */
  leCd: number
  /** Class-dependent localization recall, macro average. */
  lrCd: number
  /** mean(er20, 1 − f20, leCd / 180, 1 − lrCd). */
  seldScore: number
  classwise: ClasswiseJointMetrics
}


/** Per-class totals over all segments, as the baseline's SELDMetrics accumulates them. */
interface ClassTotals {
  truePositives: Float64Array
  /** Predicted tracks with no reference track to match. */
  falsePositives: Float64Array
  /** Matched tracks whose mean angular error exceeds the threshold. */
  spatialFalsePositives: Float64Array
  falseNegatives: Float64Array
  /** Reference tracks (the most active at once in each segment). */
  referenceTracks: Float64Array
  /** Sum of the matched tracks' mean angular errors. */
  totalError: Float64Array
  /** Matched tracks. */
  localizedTracks: Float64Array
}

function classTotals(classes: number): ClassTotals {
  return {
    truePositives: new Float64Array(classes),
    falsePositives: new Float64Array(classes),
    spatialFalsePositives: new Float64Array(classes),
    falseNegatives: new Float64Array(classes),
    referenceTracks: new Float64Array(classes),
    totalError: new Float64Array(classes),
    localizedTracks: new Float64Array(classes),
  }
}

/** How one class fared in one segment. */
interface ClassSegment {
  /** Most reference and predicted tracks active in one frame. */
  referenceCount: number
  predictedCount: number
  /** Per reference track: summed angular error over the frames it was matched, and how many frames. */
  trackError: Float64Array
  trackFrames: Int32Array
}

/**
 * Pairs, frame by frame, the predicted DOAs of class k with its reference DOAs (minimum total angle) over the frames
 * [start, end), summing each reference track's matched error. Reuses its buffers from call to call.
 */
function createSegmentMatcher(input: JointInput, tracks: number) {
  const {classes} = input
  const distance = angularDistance(input, tracks)
  const assign = createAssignmentSolver(tracks)
  const cost = new Float64Array(tracks * tracks)
  const rowToCol = new Int32Array(tracks)
  const referenceActive = new Int32Array(tracks)
  const predictedActive = new Int32Array(tracks)
  const result: ClassSegment = {referenceCount: 0, predictedCount: 0, trackError: new Float64Array(tracks), trackFrames: new Int32Array(tracks)}

  const matchFrame = (frame: number, k: number, references: number, predictions: number) => {
    for (let r = 0; r < references; r++) {
      for (let p = 0; p < predictions; p++) cost[r * predictions + p] = distance(frame * tracks + referenceActive[r], frame * tracks + predictedActive[p], k)
    }
    assign(cost, references, predictions, rowToCol)
    for (let r = 0; r < references; r++) {
      if (rowToCol[r] < 0) continue
      result.trackError[referenceActive[r]] += cost[r * predictions + rowToCol[r]]
      result.trackFrames[referenceActive[r]]++
    }
  }

  return (start: number, end: number, k: number): ClassSegment => {
    result.referenceCount = 0
    result.predictedCount = 0
    result.trackError.fill(0)
    result.trackFrames.fill(0)
    for (let frame = start; frame < end; frame++) {
      const references = activeTracks(input.sedRef, frame, k, tracks, classes, referenceActive)
      const predictions = activeTracks(input.sedPred, frame, k, tracks, classes, predictedActive)
      result.referenceCount = Math.max(result.referenceCount, references)
      result.predictedCount = Math.max(result.predictedCount, predictions)
      if (references > 0 && predictions > 0) matchFrame(frame, k, references, predictions)
    }
    return result
  }
}

/**
 * Adds class k's segment to the totals; returns its missed and extra tracks and its spatial false positives (which
 * count as insertions in the segment's error).
 */
function addClassSegment(totals: ClassTotals, k: number, segment: ClassSegment): {missed: number; extra: number; spatialMisses: number} {
  const {referenceCount, predictedCount, trackError, trackFrames} = segment
  totals.referenceTracks[k] += referenceCount
  let missed = referenceCount
  let extra = predictedCount
  let spatialMisses = 0
  if (referenceCount > 0 && predictedCount > 0) {
    let matched = 0
    for (let t = 0; t < trackFrames.length; t++) {
      if (trackFrames[t] === 0) continue
      matched++
      const meanError = trackError[t] / trackFrames[t]
      totals.totalError[k] += meanError
      totals.localizedTracks[k]++
      if (meanError <= DOA_THRESHOLD_DEGREES) totals.truePositives[k]++
      else spatialMisses++
    }
    totals.spatialFalsePositives[k] += spatialMisses
    // Present in both but never in the same frame: the predicted tracks count as missed.
    missed = matched === 0 ? predictedCount : Math.max(0, referenceCount - predictedCount)
    extra = matched > 0 && predictedCount > referenceCount ? predictedCount - referenceCount : 0
  }
  totals.falseNegatives[k] += missed
  totals.falsePositives[k] += extra
  return {missed, extra, spatialMisses}
}

function summarise(totals: ClassTotals, errors: number, classes: number): JointMetrics {
  const er20 = errors / (totals.referenceTracks.reduce((a, b) => a + b, 0) + EPS)
  const classwise: ClasswiseJointMetrics = {f20: [], leCd: [], lrCd: []}
  for (let k = 0; k < classes; k++) {
    const truePositives = totals.truePositives[k]
    const localized = totals.localizedTracks[k]
    classwise.f20.push(truePositives / (EPS + truePositives + totals.spatialFalsePositives[k] + 0.5 * (totals.falsePositives[k] + totals.falseNegatives[k])))
    classwise.leCd.push(localized ? totals.totalError[k] / (localized + EPS) : 180)
    classwise.lrCd.push(localized / (EPS + localized + totals.falseNegatives[k]))
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
  const f20 = mean(classwise.f20)
  const leCd = mean(classwise.leCd)
  const lrCd = mean(classwise.lrCd)
  return {er20, f20, leCd, lrCd, seldScore: (er20 + (1 - f20) + leCd / 180 + (1 - lrCd)) / 4, classwise}
}

/**
 * Computes ER20°, F20°, LE_CD and LR_CD. Conventions kept from the baseline: segments of framesPerSecond frames
 * (ceil(frames / framesPerSecond) per recording, the last one partial); a class present in both reference and
 * prediction of a segment but never in the same frame counts its predicted tracks as missed; every ratio has numpy's
 * eps in its denominator, so a class absent from both reference and prediction scores F 0, LE 180°, LR 0.
 */
export function jointMetrics(input: JointInput): JointMetrics {
  const tracks = input.tracks ?? 1
  if (!Number.isInteger(tracks) || tracks < 1) throw new Error(`tracks must be a positive integer, got ${tracks}`)
  checkFrames(input, input.frames * tracks)
  const {framesPerSecond, frames, classes} = input
  if (!Number.isInteger(framesPerSecond) || framesPerSecond < 1) {
    throw new Error(`framesPerSecond must be a positive integer, got ${framesPerSecond}`)
  }
  const recordingFrames = input.recordingFrames ?? [frames]
  if (recordingFrames.some((n) => !Number.isInteger(n) || n < 0) || recordingFrames.reduce((a, b) => a + b, 0) !== frames) {
    throw new Error(`recordingFrames must be non-negative integers adding up to the ${frames} frames`)
  }
  const totals = classTotals(classes)
  const matchSegment = createSegmentMatcher(input, tracks)
  let errors = 0
  for (const [start, end] of segmentBounds(recordingFrames, framesPerSecond)) {
    let segmentFalsePositives = 0
    let segmentFalseNegatives = 0
    for (let k = 0; k < classes; k++) {
      const {missed, extra, spatialMisses} = addClassSegment(totals, k, matchSegment(start, end, k))
      segmentFalseNegatives += missed
      segmentFalsePositives += extra + spatialMisses
    }
    errors += Math.max(segmentFalsePositives, segmentFalseNegatives) // substitutions + deletions + insertions
  }
  return summarise(totals, errors, classes)
}

/** [start, end) frames of every segment: framesPerSecond frames from the start of each recording, the last partial. */
function segmentBounds(recordingFrames: number[], framesPerSecond: number): [number, number][] {
  const segments: [number, number][] = []
  let recordingStart = 0
  for (const length of recordingFrames) {
    const recordingEnd = recordingStart + length
    for (let start = recordingStart; start < recordingEnd; start += framesPerSecond) {
      segments.push([start, Math.min(start + framesPerSecond, recordingEnd)])
    }
    recordingStart = recordingEnd
  }
  return segments
}

/** Writes the tracks active for class k in a frame into `out`; returns how many. */
function activeTracks(sed: SeldFrames['sedRef'], frame: number, k: number, tracks: number, classes: number, out: Int32Array): number {
  let count = 0
  for (let t = 0; t < tracks; t++) if (sed[(frame * tracks + t) * classes + k] === 1) out[count++] = t
  return count
}

/**
 * Angle in degrees between the reference DOA of row `refRow` and the predicted DOA of row `predRow` for class k.
 * As in the baseline, vectors are normalised with sqrt(|v|² + 1e-10), so a zero vector is 90° from everything and
 * identical directions come out about 0.0008° apart.
 */
function angularDistance({doaRef, doaPred, classes, aziOnly}: SeldFrames, tracks: number) {
  const dims = aziOnly ? 2 : 3
  const width = dims * classes
  return (refRow: number, predRow: number, k: number): number => {
    let refNorm = 1e-10, predNorm = 1e-10, dot = 0
    for (let d = 0; d < dims; d++) {
      const r = doaRef[refRow * width + d * classes + k]
      const p = doaPred[predRow * width + d * classes + k]
      refNorm += r * r
      predNorm += p * p
      dot += r * p
    }
    const cosine = Math.max(-1, Math.min(1, dot / Math.sqrt(refNorm * predNorm)))
    return (Math.acos(cosine) * 180) / Math.PI
  }
}

/**
 * Returns a solver of the rectangular assignment problem (Hungarian algorithm with potentials, O(n²m)) for matrices
 * of at most maxSize rows and columns. The solver reads `cost` as rows × cols, row-major, and writes into rowToCol the
 * column given to each row, or −1 when there are more rows than columns and the row is left out. The minimum total
 * cost over all assignments of min(rows, cols) pairs is what it finds.
 */
export function createAssignmentSolver(maxSize: number) {
  const size = maxSize + 1
  const rowPotential = new Float64Array(size), colPotential = new Float64Array(size), minSlack = new Float64Array(size)
  const owner = new Int32Array(size), previous = new Int32Array(size)
  const visited = new Uint8Array(size)
  return (cost: Float64Array, rows: number, cols: number, rowToCol: Int32Array): void => {
    if (rows > maxSize || cols > maxSize) throw new Error(`assignment of ${rows} × ${cols} exceeds the solver size ${maxSize}`)
    // The algorithm needs n ≤ m: solve the transposed problem when there are more rows than columns.
    const transposed = rows > cols
    const n = transposed ? cols : rows, m = transposed ? rows : cols
    const rowStride = transposed ? 1 : cols, colStride = transposed ? cols : 1
    rowPotential.fill(0)
    colPotential.fill(0)
    owner.fill(0)
    for (let i = 1; i <= n; i++) {
      owner[0] = i
      let col = 0
      minSlack.fill(Infinity)
      visited.fill(0)
      do {
        visited[col] = 1
        const row = owner[col]
        let delta = Infinity, next = 0
        for (let j = 1; j <= m; j++) {
          if (visited[j]) continue
          const slack = cost[(row - 1) * rowStride + (j - 1) * colStride] - rowPotential[row] - colPotential[j]
          if (slack < minSlack[j]) {
            minSlack[j] = slack
            previous[j] = col
          }
          if (minSlack[j] < delta) {
            delta = minSlack[j]
            next = j
          }
        }
        for (let j = 0; j <= m; j++) {
          if (visited[j]) {
            rowPotential[owner[j]] += delta
            colPotential[j] -= delta
          } else {
            minSlack[j] -= delta
          }
        }
        col = next
      } while (owner[col] !== 0)
      do {
        const before = previous[col]
        owner[col] = owner[before]
        col = before
      } while (col !== 0)
    }
    rowToCol.fill(-1, 0, rows)
    for (let j = 1; j <= m; j++) {
      if (!owner[j]) continue
      if (transposed) rowToCol[j - 1] = owner[j] - 1
      else rowToCol[owner[j] - 1] = j - 1
    }
  }
}
