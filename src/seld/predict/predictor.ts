import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {basename, dirname, extname, join, resolve} from 'node:path'
import {predictRecording, type FrameSource} from '../train/recordings.js'
import {frameCount, frameGrid} from '../features/datasets.js'
import {doaComponents, framesToEvents, formatEvents, formatExtension, type EventFormat, type EventOptions, type FramePredictions, type SoundEvent} from './events.js'
import {computeFeatures} from '../features/features.js'
import {writeFileAtomically} from '../io/atomic-files.js'
import {parseDescCsv, type DescEvent} from '../features/labels.js'
import {loadPredictor, type Predictor} from '../model/trained-model.js'
import {drawRecording, spectrogramOf} from '../plots/plots.js'
import {applyScaler, type Scaler} from '../features/scaler.js'
import type {Pcm16} from '../io/wav.js'

export {loadPredictor, type Predictor}

/** The folder of the project: the nearest folder upwards from `from` holding pipeline.yaml, else `from`. */
export function projectRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pipeline.yaml'))) return dir
    if (dirname(dir) === dir) return resolve(from)
  }
}

/** The spectrogram a picture shows (channel 0 of the scaled features, frames × bins) and the per-frame predictions. */
export interface RecordingFrames {
  spectrogram: {frames: number; bins: number; values: Float32Array}
  predictions: FramePredictions
}

/**
 * Scaled features of a recording computed as the model asks for them, a few sequences at a time, so memory does not
 * grow with the recording's length beyond its audio, its outputs and the picture's spectrogram (kept in
 * `spectrogram`). Frames past the end read as zeros, as for features read from files. Any length works: a recording
 * shorter than one FFT frame still gives one frame, padded with silence at the end.
 */
export function pcmSource(pcm: Pcm16, nfft: number, scaler: Scaler, name: string): FrameSource & {spectrogram: RecordingFrames['spectrogram']} {
  const {hop, bins} = frameGrid(pcm.sampleRate, nfft)
  const length = pcm.samples.length / pcm.channels
  const frames = Math.max(1, frameCount(length, nfft))
  const featureChannels = 2 * pcm.channels
  const frameValues = bins * featureChannels
  const spectrogram = {frames, bins, values: new Float32Array(frames * bins)}
  return {
    frames, bins, featureChannels, spectrogram,
    async read(start, count, target) {
      const available = Math.max(0, Math.min(count, frames - start))
      target.fill(0, available * frameValues, count * frameValues)
      if (available === 0) return
      // STFT frame i depends on samples i·hop … i·hop + nfft only: a slice gives exactly the frames of the whole.
      const end = Math.min(length, (start + available - 1) * hop + nfft)
      const slice = {...pcm, samples: pcm.samples.subarray(start * hop * pcm.channels, end * pcm.channels)}
      const features = computeFeatures(slice, nfft, available, name)
      applyScaler(scaler, features, name)
      target.set(features.data)
      spectrogram.values.set(spectrogramOf(features).values, start * bins)
    },
  }
}

/** The spectrogram and per-frame predictions of a whole recording; `name` is used in errors. */
export async function predictFrames(predictor: Predictor, pcm: Pcm16, name: string, batch = 8): Promise<RecordingFrames> {
  const {info} = predictor
  const trainedOn = `the model (trained on ${info.dataset}) expects`
  if (pcm.channels !== info.channels) throw new Error(`${name}: ${pcm.channels} channels, but ${trainedOn} ${info.channels}`)
  if (pcm.sampleRate !== info.sampleRate) throw new Error(`${name}: sample rate ${pcm.sampleRate} Hz, but ${trainedOn} ${info.sampleRate} Hz`)
  const source = pcmSource(pcm, info.nfft, predictor.scaler, name)
  const prediction = await predictRecording(predictor.model, source, batch)
  return {spectrogram: source.spectrogram, predictions: {...prediction, frameSeconds: frameGrid(info.sampleRate, info.nfft).frameSeconds}}
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
  const {spectrogram, predictions} = await predictFrames(predictor, pcm, name)
  const events = framesToEvents(predictions, predictor.info.classes, options.events)
  mkdirSync(dirname(stem), {recursive: true})
  const outputFile = `${stem}.${formatExtension(options.format)}`
  writeFileAtomically(outputFile, formatEvents(options.format, events, predictions))
  if (!options.plot) return {events, outputFile}
  const pictureFile = `${stem}.png`
  drawRecording({
    title: `${basename(name)}: ${events.length} event${events.length === 1 ? '' : 's'}`,
    framesPerSecond: frameGrid(predictor.info.sampleRate, predictor.info.nfft).framesPerSecond,
    classNames: predictor.info.classes,
    spectrogram,
    prediction: predictions,
    threshold: options.events.threshold,
    aziOnly: doaComponents(predictions) === 2,
  }).save(pictureFile)
  return {events, outputFile, pictureFile}
}
