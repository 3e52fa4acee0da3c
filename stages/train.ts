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
import {holdOutValidation, VALIDATION_CHOICES, type ValidationChoice} from '../src/seld/train/validation.js'
import {DEFAULT_MEL_BANDS, FEATURE_KINDS, featureShape, featureSpec} from '../src/seld/features/feature-kinds.js'
import {OUTPUT_KINDS, type OutputKind} from '../src/seld/model/outputs.js'
import {describeProgress} from '../src/seld/train/train-progress.js'
import {trainingFingerprint} from '../src/seld/train/fingerprint.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

const BATCH_REPORT_INTERVAL_MS = 3000

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
    /** One of `choices`, or `fallback` when the key is absent (sections written before the key existed). */
    choice: <T extends string>(key: string, choices: readonly T[], fallback: T) =>
      section[key] === undefined ? fallback : get<T>(key, `one of ${choices.join(', ')}`, (value) => choices.includes(value as T)),
    numberOr: (key: string, fallback: number) => (section[key] === undefined ? fallback : get<number>(key, 'a number', (value) => typeof value === 'number' && Number.isFinite(value))),
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
    'feature-config': {type: 'string'},
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
    const validationChoice: ValidationChoice = train.choice('validation', VALIDATION_CHOICES, 'holdout')
    const validationFraction = train.numberOr('validation_fraction', 0.15)
    const trainSplit = listRecordings(features, labels, 'train')
    const testRecordings = listRecordings(features, labels, 'test')
    const {bins, featureChannels, classes} = trainSplit[0]
    const expectedClasses = Object.keys(dataset.classIndex).length
    if (classes !== expectedClasses) throw new Error(`${trainSplit[0].targetsFile}: ${classes} classes, but ${dataset.name} has ${expectedClasses}`)
    const nfft = requiredNumber(values, 'nfft')
    const featureSection = values['feature-config'] === undefined ? undefined : parseSection(values['feature-config'] as string, 'feature-config')
    const spec = featureSpec(nfft, featureSection?.choice('kind', FEATURE_KINDS, 'stft') ?? 'stft', featureSection?.numberOr('mel_bands', DEFAULT_MEL_BANDS) ?? DEFAULT_MEL_BANDS)
    // The published features' bins tell their FFT size; every kind's shape tells the kind.
    const framesPerSecond = (spec.kind === 'stft' ? featureGrid(dataset, nfft, trainSplit[0]) : frameGrid(dataset.sampleRate, nfft)).metricFramesPerSecond
    const [expectedBins, expectedChannels] = featureShape(spec, dataset.channels)
    if (bins !== expectedBins || featureChannels !== expectedChannels) {
      throw new Error(
        `${trainSplit[0].featuresFile}: ${bins} bins × ${featureChannels} channels, but ${spec.kind} features of ${dataset.name} ` +
          `(nfft ${nfft}) have ${expectedBins} × ${expectedChannels}: were the features computed with another features.kind?`,
      )
    }
    const {train: trainRecordings, validation: validationRecordings} =
      validationChoice === 'test' ? {train: trainSplit, validation: testRecordings} : holdOutValidation(trainSplit, validationFraction, settings.seed)

    const modelConfig: ModelConfig = {
      seqLen: settings.seqLen, bins, channels: featureChannels, classes,
      convFilters: model.integer('conv_filters'), poolSizes: model.integers('pool_sizes'),
      rnnUnits: model.integerOrIntegers('rnn_units'), fnnUnits: model.integerOrIntegers('fnn_units'),
      dropout: model.number('dropout'), lossWeights: model.integers('loss_weights', 2) as [number, number],
      aziOnly: model.boolean('azi_only'), lr: train.number('lr'),
      output: model.choice<OutputKind>('output', OUTPUT_KINDS, 'seldnet'),
    }
    const backend = await initBackend(backendPreference)
    reportProgress(`tfjs backend: ${backend.description}`)
    // Run by the pipeline, the cache key covers every input already; run by hand, the data files are hashed whole.
    const dataFiles = [...trainSplit, ...testRecordings].flatMap((recording) => [recording.featuresFile, recording.targetsFile])
    const fingerprint = trainingFingerprint(
      {dataset: dataset.name, modelConfig, settings, nfft, spec, validationChoice, validationFraction}, dataFiles, process.env[CACHE_KEY_ENV],
    )
    const scoredOn = validationChoice === 'test' ? 'test' : 'validation'

    console.log(
      `${dataset.name}: ${trainRecordings.length} train, ${scoredOn === 'validation' ? `${validationRecordings.length} validation ` : ''}` +
        `and ${testRecordings.length} test recordings, ` +
        `${bins} bins × ${featureChannels} channels (${spec.kind}), ${classes} classes, ${framesPerSecond} frames/s, ` +
        `output ${modelConfig.output}, backend ${backend.description}` + (settings.quickTest ? ' (quick test: 2 epochs of 2 batches)' : ''),
    )
    console.log(
      scoredOn === 'test'
        ? 'the best epoch is chosen on the test split, as the published code does (train.validation: test)'
        : `the best epoch is chosen on ${validationRecordings.length} held-out training recording${validationRecordings.length === 1 ? '' : 's'}: ` +
          validationRecordings.map((r) => r.name).join(', '),
    )
    // predict and evaluate need the feature settings and the scaler beside the model; written first so that a model
    // being trained is already usable from its best epoch so far.
    writePredictInfo(out, dataset, nfft, join(features, SCALER_JSON), {
      backend: backend.name, device: backend.device, featureKind: spec.kind, ...(spec.kind === 'stft' ? {} : {melBands: spec.melBands}), output: modelConfig.output, modelChosenOn: scoredOn,
      ...(scoredOn === 'validation' ? {validationRecordings: validationRecordings.map((r) => r.name)} : {}),
    })
    let lastBatchReport = 0
    const result = await trainSeldnet({
      model: buildSeldnet(modelConfig),
      train: trainRecordings,
      validation: validationRecordings,
      scoredOn,
      settings,
      scoring: {threshold: 0.5, framesPerSecond, aziOnly: modelConfig.aziOnly},
      outDir: out,
      checkpointDir: `${out}.checkpoint`,
      fingerprint,
      backend: backend.name,
      device: backend.device,
      print: (line) => console.log(line),
      progress: (progress) => {
        // Within an epoch a line every few seconds keeps the display alive without flooding logs, where every
        // progress line is kept; the lines that end an epoch or start its scoring always go out.
        const now = Date.now()
        if (progress.phase === 'batch' && progress.batch !== progress.batches && now - lastBatchReport < BATCH_REPORT_INTERVAL_MS) return
        lastBatchReport = now
        reportProgress(describeProgress(progress))
      },
    })
    // Whatever the settings, a training that leaves no model must not be recorded as done.
    const modelFile = join(out, BEST_DIR, MODEL_JSON)
    if (!existsSync(modelFile)) throw new Error(`training wrote no model (${modelFile} is missing after ${result.records.length} epochs)`)
    console.log(`trained ${result.records.length} epochs; best model (epoch ${result.bestEpoch}) in ${join(out, BEST_DIR)}`)
  },
)
