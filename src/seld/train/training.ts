import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {BatchReader, sequencePlan, type Recording} from './recordings.js'
import {Random} from '../synth/random.js'
import {setPopulationStatistics} from '../model/bn-statistics.js'
import {PREDICT_BATCH, scoreRecordings, type ScoringSettings} from '../eval/split-scoring.js'
import {loadTensors, loadWeightsInto, saveModel, saveTensors} from '../model/model-io.js'
import {buildDirectoryAtomically, writeFileAtomically} from '../io/atomic-files.js'
import {BEST_DIR} from '../model/model-folder.js'
import {outputKindOf} from '../model/outputs.js'
import {trainStep} from './train-step.js'
import {estimateRemainingSeconds, type TrainProgress} from './train-progress.js'
import {LOG_FILE, type EpochRecord, type ScoredOn} from './training-log.js'

export {LOG_FILE, readLog, type EpochRecord, type ScoredOn} from './training-log.js'

export interface TrainSettings {
  seqLen: number
  batch: number
  epochs: number
  /** Stop after this many epochs without a better SELD score. */
  patience: number
  /** Time budget in minutes (0: none): no epoch starts that would, at the last epoch's pace, end past it. */
  maxMinutes: number
  /** Factor applied to the learning rate after every epoch (1: constant, as published). */
  lrDecay: number
  /** 2 epochs of 2 batches, scored on the first validation recording only: checks the whole path in seconds. */
  quickTest: boolean
  /** Seeds the shuffling of training sequences (the train stage also draws the validation recordings with it). */
  seed: number
}

export interface TrainRun {
  /** A compiled SELDnet (see buildSeldnet), of any output preset. */
  model: tf.LayersModel
  train: Recording[]
  /**
   * Scored after every epoch to keep the best model and stop early: recordings held out of the training split, or
   * the test split itself as the published code does (see `scoredOn`).
   */
  validation: Recording[]
  /** Which split `validation` is, recorded in every log line. */
  scoredOn: ScoredOn
  settings: TrainSettings
  scoring: Omit<ScoringSettings, 'batch'>
  /** Receives best/ (the best model) and log.jsonl. */
  outDir: string
  /** Survives a kill of the process; a restarted run with the same fingerprint continues from it. */
  checkpointDir: string
  /** Identifies the configuration and data: a checkpoint written under another fingerprint is discarded. */
  fingerprint: string
  /** tfjs backend name, recorded in every log line. */
  backend: string
  /** The device the backend computes on (`GPU 1`, `CPU`), recorded in every log line. */
  device: string
  /** Progress lines for people (one per epoch, and resume notices). */
  print?: (line: string) => void
  /** Where training is: after every batch, when scoring starts and after every epoch. */
  progress?: (progress: TrainProgress) => void
}

export interface TrainResult {
  records: EpochRecord[]
  bestEpoch: number
  bestScore: number
  /** Epoch the run continued after, 0 for a fresh run. */
  resumedFrom: number
}

/**
 * Training frames (from the start of the epoch's shuffled sequences) over which the BatchNormalization statistics are
 * recomputed after every epoch (see setPopulationStatistics): about 3 minutes of audio; 18–20 s per epoch on 2 cores.
 */
const BN_STATISTICS_FRAMES = 32768
const STATE_FILE = 'state.json'

/** What a checkpoint folder's state.json holds; it is written last, so it only ever names complete folders. */
interface CheckpointState {
  fingerprint: string
  /** Last completed epoch. */
  epoch: number
  bestEpoch: number
  bestScore: number
  staleEpochs: number
  randomState: number
  records: EpochRecord[]
  /** Sub-folders of the checkpoint: the model and optimizer after `epoch`, and the best model so far. */
  lastDir: string
  bestDir: string
}

function writeLog(outDir: string, records: EpochRecord[]): void {
  writeFileAtomically(join(outDir, LOG_FILE), records.map((record) => JSON.stringify(record) + '\n').join(''))
}

function readCheckpoint(dir: string, fingerprint: string, print: (line: string) => void): CheckpointState | undefined {
  const file = join(dir, STATE_FILE)
  if (!existsSync(file)) return undefined
  let state: CheckpointState
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as CheckpointState
  } catch {
    print(`ignoring the unreadable checkpoint ${file}; starting afresh`)
    return undefined
  }
  if (state.fingerprint !== fingerprint) {
    print(`ignoring the checkpoint in ${dir}: it belongs to another configuration or data; starting afresh`)
    return undefined
  }
  return state
}

async function writeCheckpoint(run: TrainRun, state: Omit<CheckpointState, 'lastDir' | 'bestDir'>, improved: boolean, previous?: CheckpointState): Promise<CheckpointState> {
  const dir = run.checkpointDir
  mkdirSync(dir, {recursive: true})
  const lastDir = `epoch-${state.epoch}`
  await buildDirectoryAtomically(join(dir, lastDir), async (temporary) => {
    await saveModel(run.model, join(temporary, 'model'))
    const optimizerWeights = await run.model.optimizer.getWeights()
    await saveTensors(optimizerWeights, temporary, 'optimizer')
    // getWeights returns the optimizer's variables plus a new tensor of its iteration count.
    tf.dispose(optimizerWeights.map((w) => w.tensor).filter((tensor) => !(tensor instanceof tf.Variable)))
  })
  let bestDir = previous?.bestDir ?? ''
  if (improved) {
    bestDir = `best-${state.epoch}`
    await buildDirectoryAtomically(join(dir, bestDir), (temporary) => cpSync(join(run.outDir, BEST_DIR), temporary, {recursive: true}))
  }
  const next: CheckpointState = {...state, lastDir, bestDir}
  writeFileAtomically(join(dir, STATE_FILE), JSON.stringify(next))
  for (const entry of readdirSync(dir)) {
    if (entry !== STATE_FILE && entry !== lastDir && entry !== bestDir) rmSync(join(dir, entry), {recursive: true, force: true})
  }
  return next
}

/** Restores model weights, optimizer state, the best model and the log from a checkpoint. */
async function restoreCheckpoint(run: TrainRun, state: CheckpointState): Promise<void> {
  await loadWeightsInto(run.model, join(run.checkpointDir, state.lastDir, 'model'))
  const optimizerWeights = loadTensors(join(run.checkpointDir, state.lastDir), 'optimizer')
  // setWeights makes variables of its own from these tensors.
  await run.model.optimizer.setWeights(optimizerWeights)
  tf.dispose(optimizerWeights.map((w) => w.tensor))
  await buildDirectoryAtomically(join(run.outDir, BEST_DIR), (temporary) => cpSync(join(run.checkpointDir, state.bestDir), temporary, {recursive: true}))
  writeLog(run.outDir, state.records)
}

function describe(record: EpochRecord, epochs: number, best: boolean): string {
  const f = (value: number, digits = 3) => value.toFixed(digits)
  return (
    // ACCDOA losses are mean squares over every class's vector: small numbers that 3 decimals would round away.
    `epoch ${record.epoch}/${epochs}  loss ${record.sedLoss === null ? record.loss.toPrecision(3) : f(record.loss)}` +
    (record.sedLoss === null || record.doaLoss === null ? '  ' : ` (sed ${f(record.sedLoss)}, doa ${f(record.doaLoss)})  `) +
    `${record.scoredOn}: ` +
    `ER ${f(record.er, 2)}  F1 ${f(record.f1, 2)}  DOA ${f(record.doaErrorDegrees, 1)}°  frames ${f(record.frameRecall, 2)}  ` +
    `SELD ${f(record.seldScore)}${best ? ' (best)' : ''}  ${f(record.seconds, 0)} s`
  )
}

/** The model inputs of a reader's batches, as tensors the consumer disposes. */
async function* inputBatches(reader: BatchReader, seqLen: number, bins: number, channels: number): AsyncGenerator<tf.Tensor4D> {
  for await (const batch of reader) yield tf.tensor4d(batch.x, [batch.size, seqLen, bins, channels])
}

/**
 * Trains on every batch of `reader`; returns the mean of each loss the model reports (see trainStep).
 * `afterBatch` sees the batches done and the mean total loss so far.
 */
async function trainEpoch(model: tf.LayersModel, reader: BatchReader, seqLen: number, bins: number, channels: number, afterBatch?: (done: number, meanLoss: number) => void): Promise<number[]> {
  const kind = outputKindOf(model)
  let sums: number[] = []
  let done = 0
  for await (const batch of reader) {
    const losses = await trainStep(model, batch, seqLen, bins, channels, kind)
    sums = losses.map((value, i) => (sums[i] ?? 0) + value)
    done++
    afterBatch?.(done, sums[0] / done)
  }
  return sums.map((sum) => sum / reader.batches)
}

/** What is left of the time budget after the epochs of an earlier, resumed run (0: no budget). */
function budgetLeftMinutes(earlier: EpochRecord[], maxMinutes: number): number {
  if (maxMinutes <= 0) return 0
  return Math.max(1e-9, maxMinutes - earlier.reduce((total, record) => total + record.seconds, 0) / 60)
}

/** Whether one more epoch, as long as the last one, would take the epochs' total time past `maxMinutes`. */
function overBudget(records: EpochRecord[], maxMinutes: number): boolean {
  if (maxMinutes <= 0 || records.length === 0) return false
  const spent = records.reduce((total, record) => total + record.seconds, 0)
  return spent + records[records.length - 1].seconds > maxMinutes * 60
}

/**
 * Trains a SELDnet on shuffled training sequences; after every epoch it recomputes the BatchNormalization statistics
 * over part of the training data (setPopulationStatistics) and scores the validation recordings with the 2018 metrics,
 * until the SELD score has not improved for `patience` epochs, `epochs` is reached or the time budget is spent. Keeps the best model in
 * outDir/best and a log line per epoch in outDir/log.jsonl. After every epoch a checkpoint (model, optimizer state,
 * RNG state, log, best model) goes to checkpointDir, so a killed run restarted with the same fingerprint continues
 * from the last completed epoch; the checkpoint is deleted when training ends.
 */
export async function trainSeldnet(run: TrainRun): Promise<TrainResult> {
  const {model, settings, scoring} = run
  const print = run.print ?? (() => {})
  const epochs = settings.quickTest ? 2 : settings.epochs
  const scoredRecordings = settings.quickTest ? run.validation.slice(0, 1) : run.validation
  const {bins, featureChannels} = run.train[0]
  mkdirSync(run.outDir, {recursive: true})

  // Adam reads its learning rate on every step; tfjs has no public setter for it.
  const optimizer = model.optimizer as unknown as {learningRate: number}
  const initialLr = optimizer.learningRate
  const random = new Random(settings.seed)
  let state: CheckpointState | undefined = readCheckpoint(run.checkpointDir, run.fingerprint, print)
  const resumedFrom = state?.epoch ?? 0
  if (state) {
    await restoreCheckpoint(run, state)
    random.state = state.randomState
    print(`resuming after epoch ${state.epoch} from ${run.checkpointDir}`)
  } else {
    print(`checkpoint after every epoch in ${run.checkpointDir}: if this run is interrupted, running it again continues from there`)
  }
  const records = state?.records.slice() ?? []
  let bestEpoch = state?.bestEpoch ?? 0
  // JSON keeps NaN as null.
  let bestScore = state ? (state.bestScore ?? NaN) : NaN
  let staleEpochs = state?.staleEpochs ?? 0

  for (let epoch = resumedFrom + 1; epoch <= epochs && staleEpochs < settings.patience; epoch++) {
    if (overBudget(records, settings.maxMinutes)) {
      print(`stopped: the next epoch would end past the ${settings.maxMinutes}-minute budget`)
      break
    }
    const started = performance.now()
    optimizer.learningRate = initialLr * settings.lrDecay ** (epoch - 1)
    const plan = sequencePlan(run.train, settings.seqLen, random)
    const used = settings.quickTest ? plan.slice(0, 2 * settings.batch) : plan
    const reader = new BatchReader(used, settings.seqLen, settings.batch, scoring.aziOnly)
    const lastScore = records.length > 0 ? records[records.length - 1].seldScore : undefined
    const best = bestEpoch > 0 ? bestScore : undefined
    const elapsed = () => (performance.now() - started) / 1000
    const eta = (fraction: number) => estimateRemainingSeconds({
      epochSeconds: records.slice(resumedFrom).map((r) => r.seconds), epochs: epochs - resumedFrom, currentSeconds: elapsed(), currentFraction: fraction, maxMinutes: budgetLeftMinutes(records.slice(0, resumedFrom), settings.maxMinutes),
    })
    const [loss, sedLoss, doaLoss] = await trainEpoch(model, reader, settings.seqLen, bins, featureChannels, (done, meanLoss) => run.progress?.({
      phase: 'batch', epoch, epochs, batch: done, batches: reader.batches, loss: meanLoss, seldScore: lastScore, bestScore: best, etaSeconds: eta(done / reader.batches),
    }))
    run.progress?.({phase: 'scoring', epoch, epochs, loss, seldScore: lastScore, bestScore: best, etaSeconds: eta(1)})
    const sample = used.slice(0, Math.ceil(BN_STATISTICS_FRAMES / settings.seqLen))
    await setPopulationStatistics(model, () => inputBatches(new BatchReader(sample, settings.seqLen, settings.batch, scoring.aziOnly), settings.seqLen, bins, featureChannels))
    const {overall} = await scoreRecordings(model, scoredRecordings, {...scoring, batch: PREDICT_BATCH})
    const record: EpochRecord = {
      epoch, backend: run.backend, device: run.device, scoredOn: run.scoredOn, loss, sedLoss: sedLoss ?? null, doaLoss: doaLoss ?? null,
      er: overall.er, f1: overall.f1, doaErrorDegrees: overall.doaErrorGtDegrees, frameRecall: overall.frameRecall,
      seldScore: overall.seldScore, seconds: (performance.now() - started) / 1000,
    }
    // The first epoch always counts as best, so a best model exists even if the score is NaN (no reference activity
    // gives a NaN error rate); any number beats NaN.
    const improved = bestEpoch === 0 || record.seldScore < bestScore || (Number.isNaN(bestScore) && !Number.isNaN(record.seldScore))
    if (improved) {
      bestEpoch = epoch
      bestScore = record.seldScore
      staleEpochs = 0
      await saveModel(model, join(run.outDir, BEST_DIR))
    } else {
      staleEpochs++
    }
    records.push(record)
    writeLog(run.outDir, records)
    print(describe(record, epochs, improved))
    run.progress?.({
      phase: 'epoch', epoch, epochs, loss, seldScore: record.seldScore, bestScore,
      etaSeconds: estimateRemainingSeconds({epochSeconds: records.slice(resumedFrom).map((r) => r.seconds), epochs: epochs - resumedFrom, currentSeconds: 0, currentFraction: 0, maxMinutes: budgetLeftMinutes(records.slice(0, resumedFrom), settings.maxMinutes)}),
    })
    state = await writeCheckpoint(run, {
      fingerprint: run.fingerprint, epoch, bestEpoch, bestScore, staleEpochs, randomState: random.state, records,
    }, improved, state)
  }
  if (bestEpoch === 0) {
    throw new Error(`no epoch was trained (epochs ${epochs}, patience ${settings.patience}, max_minutes ${settings.maxMinutes}), so there is no model: both must be at least 1`)
  }
  if (staleEpochs >= settings.patience) print(`stopped: no better SELD score for ${settings.patience} epochs`)
  print(`best SELD score ${bestScore.toFixed(3)} at epoch ${bestEpoch}`)
  rmSync(run.checkpointDir, {recursive: true, force: true})
  return {records, bestEpoch, bestScore, resumedFrom}
}
