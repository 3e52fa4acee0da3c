import {normalizeDirectory} from '../src/seld/features/scaler.js'
import {buildDirectoryAtomically} from '../src/seld/io/atomic-files.js'
import {required, runStage} from './stage.js'

runStage({features: {type: 'string'}, out: {type: 'string'}}, async ({values}) => {
  const features = required(values, 'features')
  let summary = ''
  await buildDirectoryAtomically(required(values, 'out'), (staging) => {
    const {train, all, scaler} = normalizeDirectory(features, staging)
    summary = `scaler fitted on ${train.length} train files (${scaler.count} frames); ${all.length} files normalized`
  })
  console.log(summary)
})
