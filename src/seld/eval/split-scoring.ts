import type * as tf from '@tensorflow/tfjs'
import {predictRecording, readTargetFrames, recordingSource, splitTargets, type Prediction, type Recording} from '../train/recordings.js'
import {jointMetrics, type JointMetrics} from './joint-metrics.js'
import {seld2018Metrics, type Seld2018Metrics} from './metrics-2018.js'

export interface ScoringSettings {
  /** SED activity threshold on the sigmoid outputs. */
  threshold: number
  /** Frames per 1-second segment of the 2018 metrics: FrameGrid.metricFramesPerSecond. */
  framesPerSecond: number
  aziOnly: boolean
  /** Sequences predicted at once. */
  batch: number
  /** Also compute the DCASE joint metrics over the whole split. */
  joint?: boolean
}

/** Sequences predicted at once when scoring: larger than training batches, as prediction keeps no gradients. */
export const PREDICT_BATCH = 32

/** Reference activities and directions of a recording, split like the model's outputs. */
export async function readReference(recording: Recording, aziOnly: boolean): Promise<{sed: Float32Array; doa: Float32Array}> {
  const rows = new Float32Array(recording.frames * 4 * recording.classes)
  await readTargetFrames(recording, 0, recording.frames, rows)
  const sed = new Float32Array(recording.frames * recording.classes)
  const doa = new Float32Array(recording.frames * (aziOnly ? 2 : 3) * recording.classes)
  splitTargets(rows, recording.frames, recording.classes, aziOnly, sed, doa)
  return {sed, doa}
}

export interface RecordingScore {
  name: string
  frames: number
  metrics: Seld2018Metrics
}

export interface SplitScores {
  /** The 2018 metrics over all recordings' frames concatenated (as the published code scores a split). */
  overall: Seld2018Metrics
  /** The DCASE joint metrics over the same recordings (segments do not cross recordings), when asked for. */
  joint?: JointMetrics
  recordings: RecordingScore[]
}

/**
 * Predicts every recording whole and scores it with the published 2018 metrics; `onRecording` sees each prediction
 * with its reference (e.g. to draw it) before it is dropped.
 */
export async function scoreRecordings(
  model: tf.LayersModel,
  recordings: Recording[],
  scoring: ScoringSettings,
  onRecording?: (recording: Recording, prediction: Prediction, reference: {sed: Float32Array; doa: Float32Array}) => Promise<void> | void,
): Promise<SplitScores> {
  const {threshold, framesPerSecond, aziOnly} = scoring
  const parts: {sedPred: Float32Array; sedRef: Float32Array; doaPred: Float32Array; doaRef: Float32Array}[] = []
  const scores: RecordingScore[] = []
  for (const recording of recordings) {
    const prediction = await predictRecording(model, recordingSource(recording), scoring.batch)
    const reference = await readReference(recording, aziOnly)
    if (prediction.doa.length !== reference.doa.length) {
      throw new Error(`the model predicts ${prediction.doa.length / recording.frames} DOA values per frame, ${recording.targetsFile} gives ${reference.doa.length / recording.frames} (azimuth-only mismatch?)`)
    }
    await onRecording?.(recording, prediction, reference)
    const frames = {
      sedPred: prediction.sed.map((p) => (p > threshold ? 1 : 0)), sedRef: reference.sed,
      doaPred: prediction.doa, doaRef: reference.doa,
    }
    parts.push(frames)
    scores.push({
      name: recording.name, frames: recording.frames,
      metrics: seld2018Metrics({...frames, frames: recording.frames, classes: recording.classes, aziOnly, framesPerSecond}),
    })
  }
  const join = (key: keyof (typeof parts)[number]) => {
    const out = new Float32Array(parts.reduce((n, part) => n + part[key].length, 0))
    let at = 0
    for (const part of parts) {
      out.set(part[key], at)
      at += part[key].length
    }
    return out
  }
  const frames = recordings.reduce((n, r) => n + r.frames, 0)
  const split = {
    sedPred: join('sedPred'), sedRef: join('sedRef'), doaPred: join('doaPred'), doaRef: join('doaRef'),
    frames, classes: recordings[0].classes, aziOnly, framesPerSecond,
  }
  // The joint metrics' 1-second segments restart at every recording, as the baseline scores file by file.
  const recordingFrames = recordings.map((recording) => recording.frames)
  return {overall: seld2018Metrics(split), ...(scoring.joint ? {joint: jointMetrics({...split, recordingFrames})} : {}), recordings: scores}
}

