/**
 * The SELD metrics of the published SELDnet code (Adavanne et al., IEEE JSTSP 2018), with its conventions kept as they
 * are so results compare with the paper: segment-based ER and F1, DOA error, source-count confusion, frame recall and
 * the SELD score.
 */
import {checkFrames, EPS, type SeldFrames} from './frames.js'

export type {SeldFrames, Values} from './frames.js'

export interface Seld2018Input extends SeldFrames {
  /** Frames per 1-second segment (the published nb_frames_1s). */
  framesPerSecond: number
}

export interface Seld2018Metrics {
  /** Segment-based error rate (floor(frames / framesPerSecond) segments). */
  er: number
  /** Segment-based F1 (ceil(frames / framesPerSecond) segments). */
  f1: number
  /** Mean Euclidean distance of DOA vectors over (frame, class) pairs active in the reference. */
  doaErrorGt: number
  /** The same over pairs active in the prediction. */
  doaErrorPred: number
  doaGtCount: number
  doaPredCount: number
  /** Frames whose reference and predicted numbers of active classes agree. */
  goodFrameCount: number
  frameRecall: number
  /** Row-normalised confusion of reference (rows) vs predicted (columns) source counts. */
  sourceCountConfusion: number[][]
  /** The source count of each row and column: every count seen in reference or prediction, ascending. */
  sourceCountLabels: number[]
  /** Mean of the confusion diagonal over its first (maximum reference count) rows, as published. */
  doaAvgAccuracy: number
  /** doaErrorGt as an angle: 2·asin(doaErrorGt / 2) in degrees. */
  doaErrorGtDegrees: number
  /** mean(er, 1 − f1, DOA error angle / 180°, 1 − frame recall). */
  seldScore: number
}

/** Computes every published 2018 metric in one pass over the frames, plus one pass over the segments. */
export function seld2018Metrics(input: Seld2018Input): Seld2018Metrics {
  checkFrames(input)
  const {framesPerSecond} = input
  // The published segment slices leave out the last frame of each block: a 1-frame block would be empty.
  if (!Number.isInteger(framesPerSecond) || framesPerSecond < 2) {
    throw new Error(`framesPerSecond must be an integer of at least 2, got ${framesPerSecond}`)
  }
  const {er, f1} = segmentScores(input)
  const doa = doaScores(input)
  const {frames} = input
  const frameRecall = doa.goodFrameCount / frames
  // Unnormalised (tanh) outputs can be more than 2 apart: count such a chord as 180°, where asin is undefined.
  const doaAngle = 2 * Math.asin(Math.min(1, doa.doaErrorGt / 2))
  const seldScore = (er + (1 - f1) + doaAngle / Math.PI + (1 - frameRecall)) / 4
  return {er, f1, ...doa, frameRecall, doaErrorGtDegrees: (doaAngle * 180) / Math.PI, seldScore}
}

/**
 * Segment-based ER and F1 on the activity maxima of blocks of framesPerSecond frames. As published, block i covers
 * frames [i·b, i·b + b − 1), F1 counts ceil(frames / b) blocks and ER floor(frames / b).
 */
function segmentScores({sedPred, sedRef, frames, classes, framesPerSecond: b}: Seld2018Input): {er: number; f1: number} {
  const f1Blocks = Math.ceil(frames / b)
  const erBlocks = Math.floor(frames / b)
  const blockPred = new Uint8Array(classes)
  const blockRef = new Uint8Array(classes)
  let truePositives = 0, refActive = 0, sysActive = 0
  let substitutions = 0, deletions = 0, insertions = 0, erRefActive = 0
  for (let block = 0; block < f1Blocks; block++) {
    blockPred.fill(0)
    blockRef.fill(0)
    const end = Math.min(block * b + b - 1, frames)
    for (let frame = block * b; frame < end; frame++) {
      const row = frame * classes
      for (let k = 0; k < classes; k++) {
        if (sedPred[row + k] === 1) blockPred[k] = 1
        if (sedRef[row + k] === 1) blockRef[k] = 1
      }
    }
    let falsePositives = 0, falseNegatives = 0, blockRefActive = 0
    for (let k = 0; k < classes; k++) {
      const o = blockPred[k], t = blockRef[k]
      truePositives += o & t
      refActive += t
      sysActive += o
      blockRefActive += t
      if (o && !t) falsePositives++
      if (t && !o) falseNegatives++
    }
    if (block < erBlocks) {
      substitutions += Math.min(falsePositives, falseNegatives)
      deletions += Math.max(0, falseNegatives - falsePositives)
      insertions += Math.max(0, falsePositives - falseNegatives)
      erRefActive += blockRefActive
    }
  }
  const precision = truePositives / (sysActive + EPS)
  const recall = truePositives / (refActive + EPS)
  const f1 = (2 * precision * recall) / (precision + recall + EPS)
  // Without reference activity the published ER is 0/0 (NaN) or x/0 (Infinity), as numpy gives.
  const er = (substitutions + deletions + insertions) / erRefActive
  return {er, f1}
}

type DoaScores = Pick<Seld2018Metrics, 'doaErrorGt' | 'doaErrorPred' | 'doaGtCount' | 'doaPredCount' | 'goodFrameCount' |
  'sourceCountConfusion' | 'sourceCountLabels' | 'doaAvgAccuracy'>

/** DOA errors against reference and predicted activity, and the source-count confusion (compute_doa_scores_regr_*). */
function doaScores({sedPred, sedRef, doaPred, doaRef, frames, classes, aziOnly}: SeldFrames): DoaScores {
  const dims = aziOnly ? 2 : 3
  const doaWidth = dims * classes
  const countPairs = new Float64Array((classes + 1) * (classes + 1))
  let gtSum = 0, gtCount = 0, predSum = 0, predCount = 0, goodFrameCount = 0, maxRefCount = 0
  for (let frame = 0; frame < frames; frame++) {
    const sedRow = frame * classes
    const doaRow = frame * doaWidth
    let refSources = 0, predSources = 0
    for (let k = 0; k < classes; k++) {
      const refOn = sedRef[sedRow + k] === 1
      const predOn = sedPred[sedRow + k] === 1
      if (!refOn && !predOn) continue
      let squared = 0
      for (let d = 0; d < dims; d++) {
        const diff = doaRef[doaRow + d * classes + k] - doaPred[doaRow + d * classes + k]
        squared += diff * diff
      }
      const distance = Math.sqrt(squared)
      if (refOn) {
        refSources++
        gtSum += distance
        gtCount++
      }
      if (predOn) {
        predSources++
        predSum += distance
        predCount++
      }
    }
    if (refSources === predSources) goodFrameCount++
    if (refSources > maxRefCount) maxRefCount = refSources
    countPairs[refSources * (classes + 1) + predSources]++
  }
  const {matrix, labels} = rowNormalisedConfusion(countPairs, classes + 1)
  // Published convention: the diagonal over the first (max reference count) label positions; NaN without sources.
  const diagonal = Math.min(maxRefCount, labels.length)
  let accuracy = 0
  for (let i = 0; i < diagonal; i++) accuracy += matrix[i][i]
  return {
    doaErrorGt: gtCount ? gtSum / gtCount : 0,
    doaErrorPred: predCount ? predSum / predCount : 0,
    doaGtCount: gtCount,
    doaPredCount: predCount,
    goodFrameCount,
    sourceCountConfusion: matrix,
    sourceCountLabels: labels,
    doaAvgAccuracy: diagonal ? accuracy / diagonal : NaN,
  }
}

/** sklearn's confusion_matrix (labels: every count seen, ascending), each row divided by (eps + its sum). */
function rowNormalisedConfusion(pairs: Float64Array, size: number): {matrix: number[][]; labels: number[]} {
  const labels: number[] = []
  for (let c = 0; c < size; c++) {
    let seen = 0
    for (let other = 0; other < size; other++) seen += pairs[c * size + other] + pairs[other * size + c]
    if (seen) labels.push(c)
  }
  const matrix = labels.map((ref) => {
    const row = labels.map((pred) => pairs[ref * size + pred])
    const total = row.reduce((a, b) => a + b, 0)
    return row.map((v) => v / (EPS + total))
  })
  return {matrix, labels}
}
