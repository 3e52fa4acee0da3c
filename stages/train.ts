import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {CACHE_KEY_ENV} from '../src/pipeline/executors/executor.js'
import {BACKEND_PREFERENCES, initBackend, type BackendPreference} from '../src/seld/model/backend.js'
import {listRecordings} from '../src/seld/train/recordings.js'
import {datasetSpec, frameGrid, type DatasetSpec, type FrameGrid} from '../src/seld/features/datasets.js'
import {buildSeldnet, type ModelConfig} from '../src/seld/model/model.js'
import {BEST_DIR, MODEL_JSON, writePredictInfo} from '../src/seld/model/model-folder.js'
import {SCALER_JSON} from '../src/seld/features/scaler.js'
import {trainSeldnet, type TrainSettings} from '../src/seld/train/training.js'
import {trainingFingerprint} from '../src/seld/train/fingerprint.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

/** Typed reads of a params section passed as JSON (e.g. `--train-config '{"seq_len": 64, ...}'`), failing clearly. */
function parseSection(text: string, flag: string) {
  let section: Record<string, unknown>
  try {
    section = JSON.parse(text) as Record<string, unknown>
  } catch (error) {
    throw new Error(`--${flag} is not valid JSON (${(error as Error).message})`)
  }
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new Error(`--${flag} must be a JSON object`)
  const get = <T>(key: string, expected: string, valid: (value: unknown) => boolean): T => {
    const value = section[key]
    if (!valid(value)) throw new Error(`--${flag}: ${key} must be ${expected}, got ${JSON.stringify(value)}`)
    return value as T
  }
  const isInteger = (value: unknown) => Number.isInteger(value)
  const isIntegers = (length?: number) => (value: unknown) =>
    Array.isArray(value) && value.length > 0 && value.every(isInteger) && (length === undefined || value.length === length)
  return {
    number: (key: string) => get<number>(key, 'a number', (value) => typeof value === 'number' && Number.isFinite(value)),
    integer: (key: string) => get<number>(key, 'an integer', isInteger),
    integers: (key: string, length?: number) => get<number[]>(key, length ? `a list of ${length} integers` : 'a list of integers', isIntegers(length)),
    integerOrIntegers: (key: string) => get<number | number[]>(key, 'an integer or a list of integers', (value) => isInteger(value) || isIntegers()(value)),
    boolean: (key: string) => get<boolean>(key, 'true or false', (value) => typeof value === 'boolean'),
    string: (key: string) => get<string>(key, 'a string', (value) => typeof value === 'string'),
  }
}

/** The frame grid of --nfft, checked against the feature files: other bins mean features of another FFT size. */
function featureGrid(dataset: DatasetSpec, nfft: number, recording: {featuresFile: string; bins: number}): FrameGrid {
  const grid = frameGrid(dataset.sampleRate, nfft)
  if (recording.bins !== grid.bins) throw new Error(`${recording.featuresFile}: ${recording.bins} frequency bins, but --nfft ${nfft} gives ${grid.bins}`)
  return grid
}

/**
 * Trains SELDnet on a cell's normalized features. A run killed part-way leaves its checkpoint in `<out>.checkpoint`
 * (outside `<out>`, which the pipeline clears before running the stage); running the stage again with the same
 * configuration and data continues after the last completed epoch.
 */
runStage(
  {
    dataset: {type: 'string'},
    'model-config': {type: 'string'},
    'train-config': {type: 'string'},
    features: {type: 'string'},
    labels: {type: 'string'},
    out: {type: 'string'},
    nfft: {type: 'string'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const model = parseSection(required(values, 'model-config'), 'model-config')
    const train = parseSection(required(values, 'train-config'), 'train-config')
    const features = required(values, 'features')
    const labels = required(values, 'labels')
    const out = resolve(required(values, 'out'))

    const settings: TrainSettings = {
      seqLen: train.integer('seq_len'), batch: train.integer('batch'), epochs: train.integer('epochs'),
      patience: train.integer('patience'), maxMinutes: train.number('max_minutes'), lrDecay: train.number('lr_decay'), quickTest: train.boolean('quick_test'), seed: train.integer('seed'),
    }
    const backendPreference = train.string('backend') as BackendPreference
    if (!BACKEND_PREFERENCES.includes(backendPreference)) {
      throw new Error(`train-config: backend must be one of ${BACKEND_PREFERENCES.join(', ')}, got '${backendPreference}'`)
    }
    const trainRecordings = listRecordings(features, labels, 'train')
    const testRecordings = listRecordings(features, labels, 'test')
    const {bins, featureChannels, classes} = trainRecordings[0]
    const expectedClasses = Object.keys(dataset.classIndex).length
    if (classes !== expectedClasses) throw new Error(`${trainRecordings[0].targetsFile}: ${classes} classes, but ${dataset.name} has ${expectedClasses}`)
    const nfft = requiredNumber(values, 'nfft')
    const framesPerSecond = featureGrid(dataset, nfft, trainRecordings[0]).metricFramesPerSecond

    const modelConfig: ModelConfig = {
      seqLen: settings.seqLen, bins, channels: featureChannels, classes,
      convFilters: model.integer('conv_filters'), poolSizes: model.integers('pool_sizes'),
      rnnUnits: model.integerOrIntegers('rnn_units'), fnnUnits: model.integerOrIntegers('fnn_units'),
      dropout: model.number('dropout'), lossWeights: model.integers('loss_weights', 2) as [number, number],
      aziOnly: model.boolean('azi_only'), lr: train.number('lr'),
    }
    const backend = await initBackend(backendPreference)
    reportProgress(`tfjs backend: ${backend.description}`)
    // Run by the pipeline, the cache key covers every input already; run by hand, the data files are hashed whole.
    const dataFiles = [...trainRecordings, ...testRecordings].flatMap((recording) => [recording.featuresFile, recording.targetsFile])
    const fingerprint = trainingFingerprint({dataset: dataset.name, modelConfig, settings, nfft}, dataFiles, process.env[CACHE_KEY_ENV])

    console.log(
      `${dataset.name}: ${trainRecordings.length} train and ${testRecordings.length} test recordings, ` +
        `${bins} bins × ${featureChannels} channels, ${classes} classes, ${framesPerSecond} frames/s, backend ${backend.description}` +
        (settings.quickTest ? ' (quick test: 2 epochs of 2 batches)' : ''),
    )
    // predict and evaluate need the feature settings and the scaler beside the model; written first so that a model
    // being trained is already usable from its best epoch so far.
    writePredictInfo(out, dataset, nfft, join(features, SCALER_JSON), {backend: backend.name, device: backend.device})
    const result = await trainSeldnet({
      model: buildSeldnet(modelConfig),
      train: trainRecordings,
      test: testRecordings,
      settings,
      scoring: {threshold: 0.5, framesPerSecond, aziOnly: modelConfig.aziOnly},
      outDir: out,
      checkpointDir: `${out}.checkpoint`,
      fingerprint,
      backend: backend.name,
      device: backend.device,
      print: (line) => console.log(line),
    })
    // Whatever the settings, a training that leaves no model must not be recorded as done.
    const modelFile = join(out, BEST_DIR, MODEL_JSON)
    if (!existsSync(modelFile)) throw new Error(`training wrote no model (${modelFile} is missing after ${result.records.length} epochs)`)
    console.log(`trained ${result.records.length} epochs; best model (epoch ${result.bestEpoch}) in ${join(out, BEST_DIR)}`)
  },
)
