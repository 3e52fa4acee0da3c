import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {CACHE_KEY_ENV} from '../src/pipeline/executors/cache-key-env.js'
import {initBackend} from '../src/seld/model/backend.js'
import {listRecordings} from '../src/seld/train/recordings.js'
import {datasetSpec, frameGrid, type DatasetSpec, type FrameGrid} from '../src/seld/features/datasets.js'
import {buildSeldnet, type ModelConfig} from '../src/seld/model/model.js'
import {BEST_DIR, MODEL_JSON, writePredictInfo} from '../src/seld/model/model-folder.js'
import {SCALER_JSON} from '../src/seld/features/scaler.js'
import {trainSeldnet, type TrainSettings} from '../src/seld/train/training.js'
import {holdOutValidation, type ValidationChoice} from '../src/seld/train/validation.js'
import {DEFAULT_MEL_BANDS, featureShape, featureSpec} from '../src/seld/features/feature-kinds.js'
import {describeProgress} from '../src/seld/train/train-progress.js'
import {trainingFingerprint} from '../src/seld/train/fingerprint.js'
import {parseSection} from './params.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

const BATCH_REPORT_INTERVAL_MS = 3000
/** How long an epoch's result line stays the latest progress line before batch lines of the next epoch replace it. */
const EPOCH_LINE_HOLD_MS = 5000

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
    threshold: {type: 'string'},
    features: {type: 'string'},
    labels: {type: 'string'},
    out: {type: 'string'},
    nfft: {type: 'string'},
    'feature-config': {type: 'string'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const model = parseSection('model', required(values, 'model-config'), '--model-config', {output: 'seldnet'})
    const train = parseSection('train', required(values, 'train-config'), '--train-config', {validation: 'holdout', validation_fraction: 0.15})
    // Early stopping scores epochs at the threshold the evaluation uses.
    const {threshold} = parseSection('evaluate', {threshold: requiredNumber(values, 'threshold')}, '--threshold')
    const features = required(values, 'features')
    const labels = required(values, 'labels')
    const out = resolve(required(values, 'out'))

    const settings: TrainSettings = {
      seqLen: train.seq_len, batch: train.batch, epochs: train.epochs, patience: train.patience,
      maxMinutes: train.max_minutes, lrDecay: train.lr_decay, quickTest: train.quick_test, seed: train.seed,
    }
    const validationChoice: ValidationChoice = train.validation
    const validationFraction = train.validation_fraction
    const trainSplit = listRecordings(features, labels, 'train')
    const testRecordings = listRecordings(features, labels, 'test')
    const {bins, featureChannels, classes} = trainSplit[0]
    const expectedClasses = Object.keys(dataset.classIndex).length
    if (classes !== expectedClasses) throw new Error(`${trainSplit[0].targetsFile}: ${classes} classes, but ${dataset.name} has ${expectedClasses}`)
    const nfft = requiredNumber(values, 'nfft')
    const featureSection = values['feature-config'] === undefined ? undefined : parseSection('features', values['feature-config'] as string, '--feature-config', {nfft, kind: 'stft', mel_bands: DEFAULT_MEL_BANDS})
    const spec = featureSpec(nfft, featureSection?.kind ?? 'stft', featureSection?.mel_bands ?? DEFAULT_MEL_BANDS)
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
      convFilters: model.conv_filters, poolSizes: model.pool_sizes, rnnUnits: model.rnn_units, fnnUnits: model.fnn_units,
      dropout: model.dropout, lossWeights: model.loss_weights, aziOnly: model.azi_only, lr: train.lr, output: model.output,
    }
    const backend = await initBackend(train.backend)
    reportProgress(`tfjs backend: ${backend.description}`)
    // Run by the pipeline, the cache key covers every input already; run by hand, the data files are hashed whole.
    const dataFiles = [...trainSplit, ...testRecordings].flatMap((recording) => [recording.featuresFile, recording.targetsFile])
    const fingerprint = trainingFingerprint(
      {dataset: dataset.name, modelConfig, settings, nfft, spec, validationChoice, validationFraction, threshold}, dataFiles, process.env[CACHE_KEY_ENV],
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
    let lastEpochReport = 0
    const result = await trainSeldnet({
      model: buildSeldnet(modelConfig),
      train: trainRecordings,
      validation: validationRecordings,
      scoredOn,
      settings,
      scoring: {threshold, framesPerSecond, aziOnly: modelConfig.aziOnly},
      outDir: out,
      checkpointDir: `${out}.checkpoint`,
      fingerprint,
      backend: backend.name,
      device: backend.device,
      print: (line) => console.log(line),
      progress: (progress) => {
        // Within an epoch a line every few seconds keeps the display alive without flooding logs, where every
        // progress line is kept; the lines that end an epoch or start its scoring go out at once, except that an
        // epoch's result stays on the display a few seconds before the next epoch's lines replace it.
        const now = Date.now()
        if (progress.phase === 'batch' && progress.batch !== progress.batches && now - lastBatchReport < BATCH_REPORT_INTERVAL_MS) return
        if (progress.phase !== 'epoch' && now - lastEpochReport < EPOCH_LINE_HOLD_MS) return
        lastBatchReport = now
        if (progress.phase === 'epoch') lastEpochReport = now
        reportProgress(describeProgress(progress))
      },
    })
    // Whatever the settings, a training that leaves no model must not be recorded as done.
    const modelFile = join(out, BEST_DIR, MODEL_JSON)
    if (!existsSync(modelFile)) throw new Error(`training wrote no model (${modelFile} is missing after ${result.records.length} epochs)`)
    console.log(`trained ${result.records.length} epochs; best model (epoch ${result.bestEpoch}) in ${join(out, BEST_DIR)}`)
  },
)
