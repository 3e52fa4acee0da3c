import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {basename, dirname, extname, join, resolve} from 'node:path'
import {predictRecording, type FrameSource} from '../train/recordings.js'
import {DATASETS, frameCount, frameGrid} from '../features/datasets.js'
import {doaComponents, framesToEvents, formatEvents, formatExtension, type EventFormat, type EventOptions, type FramePredictions, type SoundEvent} from './events.js'
import {computeFeatures} from '../features/features.js'
import {writeFileAtomically} from '../io/atomic-files.js'
import {dcaseRecordingClass, parseDescCsv, recordingClassOf, type DescEvent} from '../features/labels.js'
import {loadPredictor, type Predictor} from '../model/trained-model.js'
import {drawRecording, spectrogramOf} from '../plots/figures.js'
import {applyScaler, type Scaler} from '../features/scaler.js'
import {predictFeatureSpec} from '../model/model-folder.js'
import {featureShape, type FeatureSpec} from '../features/feature-kinds.js'
import {pcmReader, type AudioReader, type Pcm16} from '../io/wav.js'

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
  /** Frames pooled `frameStep` to a column (the maximum), so its size is bounded whatever the recording's length. */
  spectrogram: {frames: number; bins: number; values: Float32Array; frameStep: number}
  predictions: FramePredictions
}

/** The most spectrogram columns a picture keeps: longer recordings are pooled in time. */
export const SPECTROGRAM_COLUMNS = 4096

/**
 * Scaled features of a recording computed as the model asks for them, a few sequences at a time, reading only the
 * audio those need: memory holds a block of audio and features, the per-frame outputs and the picture's spectrogram
 * (at most SPECTROGRAM_COLUMNS columns), whatever the recording's length. Frames past the end read as zeros, as for
 * features read from files. Any length works: a recording shorter than one FFT frame still gives one frame, padded
 * with silence at the end.
 */
export function pcmSource(audio: Pcm16 | AudioReader, spec: number | FeatureSpec, scaler: Scaler, name: string): FrameSource & {spectrogram: RecordingFrames['spectrogram']} {
  const kind = typeof spec === 'number' ? {kind: 'stft' as const, nfft: spec, melBands: 0} : spec
  const nfft = kind.nfft
  const reader = 'samples' in audio ? pcmReader(audio) : audio
  const {hop} = frameGrid(reader.sampleRate, nfft)
  const {length, channels} = reader
  const frames = Math.max(1, frameCount(length, nfft))
  const [bins, featureChannels] = featureShape(kind, channels)
  const frameValues = bins * featureChannels
  const frameStep = Math.ceil(frames / SPECTROGRAM_COLUMNS)
  // NaN marks a column no frame has reached yet.
  const spectrogram = {frames: Math.ceil(frames / frameStep), bins, frameStep, values: new Float32Array(Math.ceil(frames / frameStep) * bins).fill(NaN)}
  return {
    frames, bins, featureChannels, spectrogram,
    async read(start, count, target) {
      const available = Math.max(0, Math.min(count, frames - start))
      target.fill(0, available * frameValues, count * frameValues)
      if (available === 0) return
      // STFT frame i depends on samples i·hop … i·hop + nfft only: a slice gives exactly the frames of the whole.
      const end = Math.min(length, (start + available - 1) * hop + nfft)
      const slice = {sampleRate: reader.sampleRate, channels, samples: reader.read(start * hop, end)}
      const features = computeFeatures(slice, kind, available, name)
      applyScaler(scaler, features, name)
      target.set(features.data)
      const shown = spectrogramOf(features).values
      for (let f = 0; f < available; f++) {
        const column = Math.floor((start + f) / frameStep) * bins
        for (let b = 0; b < bins; b++) {
          const value = shown[f * bins + b]
          const kept = spectrogram.values[column + b]
          spectrogram.values[column + b] = Number.isNaN(kept) || value > kept ? value : kept
        }
      }
    },
  }
}

/** The spectrogram and per-frame predictions of a whole recording; `name` is used in errors. */
export async function predictFrames(predictor: Predictor, audio: Pcm16 | AudioReader, name: string, batch = 8): Promise<RecordingFrames> {
  const {info} = predictor
  const trainedOn = `the model (trained on ${info.dataset}) expects`
  if (audio.channels !== info.channels) throw new Error(`${name}: ${audio.channels} channels, but ${trainedOn} ${info.channels}`)
  if (audio.sampleRate !== info.sampleRate) throw new Error(`${name}: sample rate ${audio.sampleRate} Hz, but ${trainedOn} ${info.sampleRate} Hz`)
  const source = pcmSource(audio, predictFeatureSpec(info), predictor.scaler, name)
  const prediction = await predictRecording(predictor.model, source, batch)
  return {spectrogram: source.spectrogram, predictions: {...prediction, frameSeconds: frameGrid(info.sampleRate, info.nfft).frameSeconds}}
}

/**
 * The annotation of a recording named `name` (its file name without extension) in a folder of TUT Sound Events 2018
 * description files (`<name>.csv`, as the unzip stage writes desc/), read with the model's classes.
 */
export function readAnnotations(dir: string, name: string, classes: string[], dataset?: string): DescEvent[] {
  const file = join(dir, `${name}.csv`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  // The model's dataset says how its file names carry the class (UrbanSound8K ids for REAL and MREAL).
  const known = dataset !== undefined && Object.hasOwn(DATASETS, dataset) ? DATASETS[dataset] : undefined
  return parseDescCsv(text, file, Object.fromEntries(classes.map((className, column) => [className, column])), known ? recordingClassOf(known) : dcaseRecordingClass)
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
export async function predictToFiles(predictor: Predictor, audio: Pcm16 | AudioReader, name: string, stem: string, options: OutputOptions): Promise<PredictedFiles> {
  const {spectrogram, predictions} = await predictFrames(predictor, audio, name)
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
