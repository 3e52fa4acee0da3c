import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BACKEND_PREFERENCES, initBackend, type BackendPreference} from '../src/seld/model/backend.js'
import {listRecordings, predictionWidths, readFeatureFrames} from '../src/seld/train/recordings.js'
import {outputKindOf} from '../src/seld/model/outputs.js'
import {datasetSpec, frameGrid} from '../src/seld/features/datasets.js'
import type {Seld2018Metrics} from '../src/seld/eval/metrics-2018.js'
import type {EvaluationReport} from '../src/seld/eval/report.js'
import {drawRecording, drawTrainingCurves, spectrogramOf} from '../src/seld/plots/figures.js'
import {loadPredictor} from '../src/seld/model/trained-model.js'
import {PREDICT_BATCH, scoreRecordings} from '../src/seld/eval/split-scoring.js'
import {LOG_FILE, readLog} from '../src/seld/train/training-log.js'
import {buildDirectoryAtomically} from '../src/seld/io/atomic-files.js'
import {parseSection} from './params.js'
import {required, requiredNumber, runStage} from './stage.js'

/** Test recordings pictured: enough to see how a model behaves, few enough to keep evaluate and the report quick. */
const PICTURED_RECORDINGS = 8

/**
 * metrics.json: the EvaluationReport `seldpipe metrics` reads, plus the 2018 metrics of every test recording and what
 * the model is (its feature and output presets, and the split its best epoch was chosen on).
 */
type Report = EvaluationReport & {
  featureKind: string
  output: string
  modelChosenOn: 'validation' | 'test'
  perRecording: {name: string; frames: number; seld2018: Seld2018Metrics}[]
}

/**
 * Scores a trained model once on the test split (its best epoch was chosen on the validation recordings, or on the
 * test split itself with train.validation: test): every test recording predicted whole, the published 2018 metrics and the
 * DCASE joint metrics over the split (metrics.json), the training curves of the model's log, and a picture of each
 * of the first PICTURED_RECORDINGS test recordings (spectrogram, SED and DOA reference vs prediction).
 */
runStage(
  {
    dataset: {type: 'string'},
    threshold: {type: 'string'},
    model: {type: 'string'},
    features: {type: 'string'},
    labels: {type: 'string'},
    out: {type: 'string'},
    backend: {type: 'string', default: 'auto'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const {threshold} = parseSection('evaluate', {threshold: requiredNumber(values, 'threshold')}, '--threshold')
    const modelDir = required(values, 'model')
    const backendPreference = values.backend as BackendPreference
    if (!BACKEND_PREFERENCES.includes(backendPreference)) throw new Error(`--backend must be one of ${BACKEND_PREFERENCES.join(', ')}`)
    const test = listRecordings(required(values, 'features'), required(values, 'labels'), 'test')
    const log = readLog(join(modelDir, LOG_FILE))

    await initBackend(backendPreference)
    const {model, info} = await loadPredictor(modelDir)
    const classes = info.classes.length
    if (test[0].classes !== classes) throw new Error(`${test[0].targetsFile}: ${test[0].classes} classes, but the model in ${modelDir} predicts ${classes}`)
    const aziOnly = predictionWidths(model).doaWidth === 2 * classes
    const grid = frameGrid(info.sampleRate, info.nfft)
    const pictured = new Set(test.slice(0, PICTURED_RECORDINGS))

    let report: Report | undefined
    await buildDirectoryAtomically(required(values, 'out'), async (staging) => {
      const scores = await scoreRecordings(model, test, {threshold, framesPerSecond: grid.metricFramesPerSecond, aziOnly, batch: PREDICT_BATCH, joint: true}, async (recording, prediction, reference) => {
        if (!pictured.has(recording)) return
        const data = new Float32Array(recording.frames * recording.bins * recording.featureChannels)
        await readFeatureFrames(recording, 0, recording.frames, data)
        drawRecording({
          title: `${dataset.name} ${recording.name}`,
          framesPerSecond: grid.framesPerSecond,
          classNames: info.classes,
          spectrogram: spectrogramOf({shape: [recording.frames, recording.bins, recording.featureChannels], data}),
          prediction, reference, threshold, aziOnly,
        }).save(join(staging, `${recording.name}.png`))
      })
      drawTrainingCurves(log, `Training: ${dataset.name} (backend ${log[0]?.backend ?? 'unknown'})`).save(join(staging, 'training_curves.png'))
      report = {
        dataset: dataset.name,
        recordings: test.length,
        frames: test.reduce((n, r) => n + r.frames, 0),
        threshold,
        featureKind: info.featureKind ?? 'stft',
        output: outputKindOf(model),
        // Models trained before the validation split existed were chosen on the test split.
        modelChosenOn: info.modelChosenOn ?? 'test',
        seld2018: scores.overall,
        joint: scores.joint,
        perRecording: scores.recordings.map(({name, frames, metrics}) => ({name, frames, seld2018: metrics})),
      }
      writeFileSync(join(staging, 'metrics.json'), JSON.stringify(report, null, 2) + '\n')
    })
    const m = report!.seld2018
    const j = report!.joint!
    console.log(
      `${dataset.name}: ${test.length} test recordings: SELD score ${m.seldScore.toFixed(3)} (ER ${m.er.toFixed(3)}, F1 ${m.f1.toFixed(3)}, ` +
        `DOA error ${m.doaErrorGtDegrees.toFixed(1)}°, frame recall ${m.frameRecall.toFixed(3)}); ` +
        `joint: ER20° ${j.er20.toFixed(3)}, F20° ${j.f20.toFixed(3)}, LE_CD ${j.leCd.toFixed(1)}°, LR_CD ${j.lrCd.toFixed(3)}`,
    )
  },
)
