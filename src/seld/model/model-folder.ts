/** A trained model's folder: the network in best/, and beside it what predicting needs (seld.json, the scaler). */
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {classNames, type DatasetSpec} from '../features/datasets.js'
import {readScaler, SCALER_JSON, type Scaler} from '../features/scaler.js'
import {writeFileAtomically} from '../io/atomic-files.js'

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
  /** The tfjs backend and device the model was trained on. */
  backend?: string
  device?: string
}

export const PREDICT_INFO_FILE = 'seld.json'
export const MODEL_JSON = 'model.json'
/** The train stage's sub-folder holding the model of its best epoch. */
export const BEST_DIR = 'best'

/**
 * Writes seld.json (with the backend and device of training, when given) and a copy of the scaler into `dir` (the train stage's model folder, which holds best/), so the
 * model folder alone is enough to predict.
 */
export function writePredictInfo(dir: string, dataset: DatasetSpec, nfft: number, scalerFile: string, trainedOn?: {backend: string; device: string}): void {
  const info: PredictInfo = {dataset: dataset.name, nfft, sampleRate: dataset.sampleRate, channels: dataset.channels, classes: classNames(dataset), ...trainedOn}
  mkdirSync(dir, {recursive: true})
  writeFileAtomically(join(dir, SCALER_JSON), readFileSync(scalerFile))
  writeFileAtomically(join(dir, PREDICT_INFO_FILE), JSON.stringify(info, null, 2) + '\n')
}

/** The best model of the most recent run: the newest work/<dataset>/<cell>/model/best by modification time. */
export function latestModelDir(root: string): string {
  const work = join(root, 'work')
  const candidates: {dir: string; mtime: number}[] = []
  const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir, {withFileTypes: true}).filter((d) => d.isDirectory()).map((d) => join(dir, d.name)) : [])
  for (const dataset of subdirs(work)) {
    for (const cell of subdirs(dataset)) {
      const best = join(cell, 'model', BEST_DIR)
      if (existsSync(join(best, MODEL_JSON))) candidates.push({dir: best, mtime: statSync(best).mtimeMs})
    }
  }
  if (candidates.length === 0) throw new Error(`no trained model under ${work} (no work/*/*/model/best/${MODEL_JSON}): run the pipeline first, or pass --model`)
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
  return {info, scaler: readScaler(join(dir, SCALER_JSON))}
}
