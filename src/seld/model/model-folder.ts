/** A trained model's folder: the network in best/, and beside it what predicting needs (seld.json, the scaler). */
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {classNames, type DatasetSpec} from '../features/datasets.js'
import {readScaler, SCALER_JSON, type Scaler} from '../features/scaler.js'
import {writeFileAtomically} from '../io/atomic-files.js'
import {DEFAULT_MEL_BANDS, featureSpec, isFeatureKind, type FeatureKind, type FeatureSpec} from '../features/feature-kinds.js'
import {isOutputKind, type OutputKind} from './outputs.js'

/**
 * What predicting needs besides the network, stored beside a trained model as `seld.json` (with a copy of the
 * normalize stage's scaler.json): the feature settings and the dataset's audio format and classes.
 */
export interface PredictInfo {
  dataset: string
  nfft: number
  sampleRate: number
  channels: number
  /** Class names in output column order. */
  classes: string[]
  /** The features the network takes (`stft` when absent, as in folders written before feature presets existed). */
  featureKind?: FeatureKind
  /** Mel bands of the log-mel feature kinds. */
  melBands?: number
  /** The network's output preset (predictions read it from the network itself; recorded for people). */
  output?: OutputKind
  /** The recordings that chose the best epoch: held out of the training split (`validation`) or the test split. */
  modelChosenOn?: 'validation' | 'test'
  /** The training recordings held out for validation, when `modelChosenOn` is `validation`. */
  validationRecordings?: string[]
  /** The tfjs backend and device the model was trained on. */
  backend?: string
  device?: string
}

/** What seld.json records about the training besides the dataset. */
export type TrainingInfo = Pick<PredictInfo, 'featureKind' | 'melBands' | 'output' | 'modelChosenOn' | 'validationRecordings' | 'backend' | 'device'>

/** The feature spec a model folder's seld.json describes. */
export function predictFeatureSpec(info: PredictInfo): FeatureSpec {
  return featureSpec(info.nfft, info.featureKind ?? 'stft', info.melBands ?? DEFAULT_MEL_BANDS)
}

export const PREDICT_INFO_FILE = 'seld.json'
export const MODEL_JSON = 'model.json'
/** The train stage's sub-folder holding the model of its best epoch. */
export const BEST_DIR = 'best'

/**
 * Writes seld.json (with what is known of the training: presets, validation, backend and device) and a copy of the
 * scaler into `dir` (the train stage's model folder, which holds best/), so the model folder alone is enough to predict.
 */
export function writePredictInfo(dir: string, dataset: DatasetSpec, nfft: number, scalerFile: string, training: TrainingInfo = {}): void {
  const info: PredictInfo = {dataset: dataset.name, nfft, sampleRate: dataset.sampleRate, channels: dataset.channels, classes: classNames(dataset), ...training}
  mkdirSync(dir, {recursive: true})
  writeFileAtomically(join(dir, SCALER_JSON), readFileSync(scalerFile))
  writeFileAtomically(join(dir, PREDICT_INFO_FILE), JSON.stringify(info, null, 2) + '\n')
}

/**
 * The best model of the most recent run: the newest work/<dataset>/<cell>/model/best (or, for a parameter sweep's
 * variant, work/<dataset>/<cell>/<variant>/model/best) by modification time.
 */
export function latestModelDir(root: string): string {
  const work = join(root, 'work')
  const candidates: {dir: string; mtime: number}[] = []
  const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir, {withFileTypes: true}).filter((d) => d.isDirectory()).map((d) => join(dir, d.name)) : [])
  for (const dataset of subdirs(work)) {
    for (const cell of subdirs(dataset)) {
      for (const folder of [cell, ...subdirs(cell)]) {
        const best = join(folder, 'model', BEST_DIR)
        if (existsSync(join(best, MODEL_JSON))) candidates.push({dir: best, mtime: statSync(best).mtimeMs})
      }
    }
  }
  if (candidates.length === 0) throw new Error(`no trained model under ${work} (no model/best/${MODEL_JSON} in it): run the pipeline first, or pass --model`)
  return candidates.reduce((a, b) => (b.mtime > a.mtime ? b : a)).dir
}

/** A model folder as the user names it: the folder holding model.json, or a train output folder holding best/. */
export function resolveModelDir(dir: string): string {
  if (existsSync(join(dir, MODEL_JSON))) return dir
  if (existsSync(join(dir, BEST_DIR, MODEL_JSON))) return join(dir, BEST_DIR)
  throw new Error(`${dir}: not a trained model folder (no ${MODEL_JSON} in it or in ${join(dir, BEST_DIR)})`)
}

/** seld.json and the scaler of a model folder, looked up in the folder, then in its parent (the train output). */
export function readPredictInfo(modelDir: string): {info: PredictInfo; scaler: Scaler} {
  const dir = [modelDir, dirname(modelDir)].find((candidate) => existsSync(join(candidate, PREDICT_INFO_FILE)))
  if (!dir) {
    throw new Error(
      `${modelDir}: no ${PREDICT_INFO_FILE} in it or its parent folder (the feature settings and scaler the train stage ` +
        'stores beside the model): is its training still running, or was it trained by an older version?',
    )
  }
  const file = join(dir, PREDICT_INFO_FILE)
  let info: PredictInfo
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as PredictInfo
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`)
  }
  const positive = (value: unknown) => Number.isInteger(value) && (value as number) > 0
  if (typeof info.dataset !== 'string' || !positive(info.nfft) || !positive(info.sampleRate) || !positive(info.channels) ||
    !Array.isArray(info.classes) || info.classes.length === 0 || !info.classes.every((name) => typeof name === 'string')) {
    throw new Error(`${file}: expected {dataset, nfft, sampleRate, channels, classes: [names]}`)
  }
  if (info.featureKind !== undefined && (!isFeatureKind(info.featureKind) || (info.featureKind !== 'stft' && !positive(info.melBands)))) {
    throw new Error(`${file}: featureKind '${info.featureKind}' with melBands ${info.melBands} is not a feature preset this version computes`)
  }
  if (info.output !== undefined && !isOutputKind(info.output)) throw new Error(`${file}: output '${info.output}' is not an output preset`)
  return {info, scaler: readScaler(join(dir, SCALER_JSON))}
}
