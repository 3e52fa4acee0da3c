import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, extname, join, resolve} from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import {arraySource, predictRecording} from './data.js'
import {classNames, frameCount, type DatasetSpec} from './datasets.js'
import {doaComponents, framesToEvents, formatEvents, formatExtension, type EventFormat, type EventOptions, type FramePredictions, type SoundEvent} from './events.js'
import {computeFeatures} from './features.js'
import {parseDescCsv, type DescEvent} from './labels.js'
import {loadModel} from './model-io.js'
// Registers the custom layers of SELDnet, which loading a saved model needs.
import './model.js'
import type {NdArray} from './npy.js'
import {drawRecording, spectrogramOf} from './plots.js'
import {applyScaler, readScaler, SCALER_JSON, type Scaler} from './scaler.js'
import type {Pcm16} from './wav.js'

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
}

export const PREDICT_INFO_FILE = 'seld.json'
/** Name of the scaler copy beside seld.json (the normalize stage's file name). */
export const SCALER_FILE = SCALER_JSON
const MODEL_JSON = 'model.json'
const BEST_DIR = 'best'

/**
 * Writes seld.json and a copy of the scaler into `dir` (the train stage's model folder, which holds best/), so the
 * model folder alone is enough to predict.
 */
export function writePredictInfo(dir: string, dataset: DatasetSpec, nfft: number, scalerFile: string): void {
  const info: PredictInfo = {dataset: dataset.name, nfft, sampleRate: dataset.sampleRate, channels: dataset.channels, classes: classNames(dataset)}
  mkdirSync(dir, {recursive: true})
  writeAtomically(join(dir, SCALER_FILE), readFileSync(scalerFile))
  writeAtomically(join(dir, PREDICT_INFO_FILE), JSON.stringify(info, null, 2) + '\n')
}

function writeAtomically(file: string, content: string | Uint8Array): void {
  const temporary = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`)
  try {
    writeFileSync(temporary, content)
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw error
  }
}

/** The folder of the project: the nearest folder upwards from `from` holding pipeline.yaml, else `from`. */
export function projectRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pipeline.yaml'))) return dir
    if (dirname(dir) === dir) return resolve(from)
  }
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
    throw new Error(`${modelDir}: no ${PREDICT_INFO_FILE} in it or its parent folder: the model was saved without its feature settings and scaler (retrain it with this version)`)
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
  return {info, scaler: readScaler(join(dir, SCALER_FILE))}
}

/** A loaded model with everything needed to turn audio into its predictions. */
export interface Predictor {
  dir: string
  model: tf.LayersModel
  info: PredictInfo
  scaler: Scaler
}

/** Loads a model folder (see resolveModelDir) with its seld.json and scaler; a tfjs backend must be initialised. */
export async function loadPredictor(dir: string): Promise<Predictor> {
  const modelDir = resolveModelDir(dir)
  const {info, scaler} = readPredictInfo(modelDir)
  const model = await loadModel(modelDir)
  const [, , bins, featureChannels] = model.inputs[0].shape
  const classes = model.outputs[0].shape[2]
  if (bins !== info.nfft / 2 || featureChannels !== 2 * info.channels || classes !== info.classes.length) {
    throw new Error(
      `${modelDir}: the network takes ${bins} bins × ${featureChannels} channels and gives ${classes} classes, but ` +
        `${PREDICT_INFO_FILE} describes nfft ${info.nfft} (${info.nfft / 2} bins), ${info.channels} audio channels, ${info.classes.length} classes`,
    )
  }
  return {dir: modelDir, model, info, scaler}
}

/** The scaled features (frames × bins × 2C) and per-frame predictions of a whole recording; `name` is used in errors. */
export async function predictFrames(predictor: Predictor, pcm: Pcm16, name: string, batch = 8): Promise<{features: NdArray; predictions: FramePredictions}> {
  const {info} = predictor
  const trainedOn = `the model (trained on ${info.dataset}) expects`
  if (pcm.channels !== info.channels) throw new Error(`${name}: ${pcm.channels} channels, but ${trainedOn} ${info.channels}`)
  if (pcm.sampleRate !== info.sampleRate) throw new Error(`${name}: sample rate ${pcm.sampleRate} Hz, but ${trainedOn} ${info.sampleRate} Hz`)
  // Any length: a recording shorter than one FFT frame still gives one frame, padded with silence at the end.
  const frames = Math.max(1, frameCount(pcm.samples.length / pcm.channels, info.nfft))
  const features = computeFeatures(pcm, info.nfft, frames, name)
  applyScaler(predictor.scaler, features)
  const prediction = await predictRecording(predictor.model, arraySource(features), batch)
  return {features, predictions: {...prediction, frameSeconds: info.nfft / 2 / info.sampleRate}}
}

/**
 * The annotation of a recording named `name` (its file name without extension) in a folder of TUT Sound Events 2018
 * description files (`<name>.csv`, as the unzip stage writes desc/), read with the model's classes.
 */
export function readAnnotations(dir: string, name: string, classes: string[]): DescEvent[] {
  const file = join(dir, `${name}.csv`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  return parseDescCsv(text, file, Object.fromEntries(classes.map((className, column) => [className, column])))
}

/** Output name of stdin input. */
export const STDIN_NAME = 'stdin'

/** Output path without extension for an input (`-` is stdin): in `outDir`, else beside the input (stdin: cwd). */
export function outputStem(input: string, outDir?: string): string {
  const name = input === '-' ? STDIN_NAME : basename(input, extname(input))
  return resolve(outDir ?? (input === '-' ? '.' : dirname(input)), name)
}

export interface OutputOptions {
  format: EventFormat
  events: EventOptions
  /** Also draw <stem>.png: spectrogram, activity per class, DOA tracks. */
  plot: boolean
}

export interface PredictedFiles {
  events: SoundEvent[]
  outputFile: string
  pictureFile?: string
}

/** Predicts a recording and writes its events as `<stem>.csv` (or .json) and its picture as `<stem>.png`. */
export async function predictToFiles(predictor: Predictor, pcm: Pcm16, name: string, stem: string, options: OutputOptions): Promise<PredictedFiles> {
  const {features, predictions} = await predictFrames(predictor, pcm, name)
  const events = framesToEvents(predictions, predictor.info.classes, options.events)
  mkdirSync(dirname(stem), {recursive: true})
  const outputFile = `${stem}.${formatExtension(options.format)}`
  writeAtomically(outputFile, formatEvents(options.format, events, predictions))
  if (!options.plot) return {events, outputFile}
  const pictureFile = `${stem}.png`
  drawRecording({
    title: `${basename(name)}: ${events.length} event${events.length === 1 ? '' : 's'}`,
    framesPerSecond: 1 / predictions.frameSeconds,
    classNames: predictor.info.classes,
    spectrogram: spectrogramOf(features),
    prediction: predictions,
    threshold: options.events.threshold,
    aziOnly: doaComponents(predictions) === 2,
  }).save(pictureFile)
  return {events, outputFile, pictureFile}
}
