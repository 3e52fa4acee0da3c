import {datasetSpec} from '../src/seld/features/datasets.js'
import {writeLabelDirectory} from '../src/seld/features/labels.js'
import {buildDirectoryAtomically} from '../src/seld/io/atomic-files.js'
import {required, requiredNumber, runStage} from './stage.js'

runStage(
  {dataset: {type: 'string'}, nfft: {type: 'string'}, desc: {type: 'string'}, out: {type: 'string'}},
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const nfft = requiredNumber(values, 'nfft')
    const desc = required(values, 'desc')
    let count = 0
    await buildDirectoryAtomically(required(values, 'out'), (staging) => {
      count = writeLabelDirectory(desc, staging, dataset, nfft).length
    })
    console.log(`${dataset.name}: labels and targets of ${count} recordings`)
  },
)
