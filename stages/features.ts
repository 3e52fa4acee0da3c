import {datasetSpec, recordingFrames} from '../src/seld/features/datasets.js'
import {extractFeatureFiles, featureJobs} from '../src/seld/features/features.js'
import {buildDirectoryAtomically} from '../src/seld/io/atomic-files.js'
import {required, requiredNumber, runStage} from './stage.js'

runStage(
  {dataset: {type: 'string'}, nfft: {type: 'string'}, wav: {type: 'string'}, out: {type: 'string'}},
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const nfft = requiredNumber(values, 'nfft')
    const wav = required(values, 'wav')
    const settings = {nfft, seconds: dataset.seconds, channels: dataset.channels, sampleRate: dataset.sampleRate}
    let count = 0
    await buildDirectoryAtomically(required(values, 'out'), async (staging) => {
      const jobs = featureJobs(wav, staging)
      count = jobs.length
      await extractFeatureFiles(jobs, settings)
    })
    console.log(`${dataset.name}: features of ${count} recordings, ${recordingFrames(dataset, nfft)} frames × ${nfft / 2} bins × ${2 * dataset.channels}`)
  },
)
