import {datasetSpec, recordingFrames} from '../src/seld/features/datasets.js'
import {extractFeatureFiles, featureJobs} from '../src/seld/features/features.js'
import {featureShape, featureSpec} from '../src/seld/features/feature-kinds.js'
import {buildDirectoryAtomically} from '../src/seld/io/atomic-files.js'
import {required, requiredNumber, runStage} from './stage.js'

runStage(
  {
    dataset: {type: 'string'}, nfft: {type: 'string'}, wav: {type: 'string'}, out: {type: 'string'},
    kind: {type: 'string', default: 'stft'}, 'mel-bands': {type: 'string', default: '64'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const nfft = requiredNumber(values, 'nfft')
    const spec = featureSpec(nfft, values.kind, requiredNumber(values, 'mel-bands'))
    // Refused before any recording is read: e.g. intensity vectors of an 8-microphone array.
    let shape: [number, number]
    try {
      shape = featureShape(spec, dataset.channels)
    } catch (error) {
      throw new Error(`${dataset.name}: ${(error as Error).message}`)
    }
    const [bins, channels] = shape
    const wav = required(values, 'wav')
    const settings = {nfft, kind: spec.kind, melBands: spec.melBands, seconds: dataset.seconds, channels: dataset.channels, sampleRate: dataset.sampleRate}
    let count = 0
    await buildDirectoryAtomically(required(values, 'out'), async (staging) => {
      const jobs = featureJobs(wav, staging)
      count = jobs.length
      await extractFeatureFiles(jobs, settings)
    })
    console.log(`${dataset.name}: ${spec.kind} features of ${count} recordings, ${recordingFrames(dataset, nfft)} frames × ${bins} bins × ${channels}`)
  },
)
