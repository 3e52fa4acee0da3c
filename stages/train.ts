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
import {trainingFingerprint} from '../src/seld/train/fingerprint.js'
import {parseSection} from './params.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

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
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const model = parseSection('model', required(values, 'model-config'), '--model-config')
    const train = parseSection('train', required(values, 'train-config'), '--train-config')
    // Early stopping scores epochs at the threshold the evaluation uses.
    const {threshold} = parseSection('evaluate', {threshold: requiredNumber(values, 'threshold')}, '--threshold')
    const features = required(values, 'features')
    const labels = required(values, 'labels')
    const out = resolve(required(values, 'out'))

    const settings: TrainSettings = {
      seqLen: train.seq_len, batch: train.batch, epochs: train.epochs, patience: train.patience,
      maxMinutes: train.max_minutes, lrDecay: train.lr_decay, quickTest: train.quick_test, seed: train.seed,
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
      convFilters: model.conv_filters, poolSizes: model.pool_sizes, rnnUnits: model.rnn_units, fnnUnits: model.fnn_units,
      dropout: model.dropout, lossWeights: model.loss_weights, aziOnly: model.azi_only, lr: train.lr,
    }
    const backend = await initBackend(train.backend)
    reportProgress(`tfjs backend: ${backend.description}`)
    // Run by the pipeline, the cache key covers every input already; run by hand, the data files are hashed whole.
    const dataFiles = [...trainRecordings, ...testRecordings].flatMap((recording) => [recording.featuresFile, recording.targetsFile])
    const fingerprint = trainingFingerprint({dataset: dataset.name, modelConfig, settings, nfft, threshold}, dataFiles, process.env[CACHE_KEY_ENV])

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
      scoring: {threshold, framesPerSecond, aziOnly: modelConfig.aziOnly},
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
