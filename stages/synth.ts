import {datasetSpec} from '../src/seld/features/datasets.js'
import {datasetOptions, synthesizeSplit} from '../src/seld/synth/synthesize.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

function requiredBoolean(values: Record<string, unknown>, name: string): boolean {
  const text = required(values, name)
  if (text !== 'true' && text !== 'false') throw new Error(`--${name} must be true or false, got '${text}'`)
  return text === 'true'
}

runStage(
  {
    dataset: {type: 'string'}, ov: {type: 'string'}, split: {type: 'string'}, 'train-files': {type: 'string'},
    'test-files': {type: 'string'}, duration: {type: 'string'}, seed: {type: 'string'}, rt60: {type: 'string'},
    'shift-test-doa': {type: 'string'}, sources: {type: 'string'}, out: {type: 'string'},
  },
  async ({values}) => {
    const dataset = datasetSpec(required(values, 'dataset'))
    const options = datasetOptions(dataset, {
      ov: requiredNumber(values, 'ov'),
      split: requiredNumber(values, 'split'),
      trainFiles: requiredNumber(values, 'train-files'),
      testFiles: requiredNumber(values, 'test-files'),
      duration: requiredNumber(values, 'duration'),
      seed: requiredNumber(values, 'seed'),
      rt60: requiredNumber(values, 'rt60'),
      shiftTestDoa: requiredBoolean(values, 'shift-test-doa'),
      sources: values.sources,
    })
    const started = Date.now()
    const {zip} = await synthesizeSplit(options, required(values, 'out'), (id, done, total) => reportProgress(`${id.name}.wav (${done}/${total})`))
    console.log(`${dataset.name} ov${options.ov} split${options.split}: wrote ${zip} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  },
)
