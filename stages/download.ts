import {ensureDatasetZip} from '../src/seld/io/dataset-zips.js'
import {DEFAULT_RETRIES, formatProgress} from '../src/seld/io/zenodo.js'
import {reportProgress, required, requiredNumber, runStage} from './stage.js'

/**
 * Makes sure a real dataset's split zip is in --from as Zenodo publishes it: used as found when present (checked
 * against the stored record listing when there is one), downloaded otherwise (SELDPIPE_ZENODO_URL overrides the server).
 */
runStage(
  {dataset: {type: 'string'}, ov: {type: 'string'}, split: {type: 'string'}, from: {type: 'string'}},
  async ({values}) => {
    const result = await ensureDatasetZip(required(values, 'dataset'), requiredNumber(values, 'ov'), requiredNumber(values, 'split'), required(values, 'from'), {
      log: (line) => console.log(line),
      onProgress: (progress) => reportProgress(formatProgress(progress)),
      retry: {...DEFAULT_RETRIES, onRetry: (problem, wait) => console.log(`${problem}; retrying in ${(wait / 1000).toFixed(1)} s`)},
    })
    console.log(`${result.zip}: ${result.outcome}`)
  },
)
