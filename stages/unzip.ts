import {datasetSpec} from '../src/seld/features/datasets.js'
import {extractDataset} from '../src/seld/io/unzip.js'
import {required, requiredNumber, runStage} from './stage.js'

runStage(
  {
    dataset: {type: 'string'},
    ov: {type: 'string'},
    split: {type: 'string'},
    from: {type: 'string'},
    'max-bytes': {type: 'string'},
    out: {type: 'string'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset')).name
    const extracted = await extractDataset({
      dataset,
      ov: requiredNumber(values, 'ov'),
      split: requiredNumber(values, 'split'),
      from: required(values, 'from'),
      maxBytes: requiredNumber(values, 'max-bytes'),
      out: required(values, 'out'),
    })
    console.log(`${dataset}: extracted ${extracted.wav.length} recordings and ${extracted.desc.length} descriptions`)
  },
)
