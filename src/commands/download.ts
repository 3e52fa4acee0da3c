import path from 'node:path'
import {Args, Command, Flags} from '@oclif/core'
import {DATASETS, datasetSpec} from '../seld/features/datasets.js'
import {ensureDatasetZip} from '../seld/io/dataset-zips.js'
import {DEFAULT_RETRIES, formatProgress, zenodoBaseUrl, type Progress} from '../seld/io/zenodo.js'

const numbers = Flags.custom<number[]>({
  parse: async (input) => {
    const values = input.split(',').map(Number)
    if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`expected positive integers separated by commas, got '${input}'`)
    return values
  },
})

const downloaded = Object.values(DATASETS).filter((dataset) => dataset.zenodoRecord !== undefined)

export default class Download extends Command {
  static override description = `Fetch a TUT Sound Events 2018 dataset's split zips from Zenodo, as the pipeline would.

Puts ov<o>_split<s>.zip in <dir>/<dataset>/ as Zenodo publishes them, each checked against the record's md5 before it
is put in place; an interrupted download resumes. Zips already there are kept (checked against the listing stored by an
earlier download, without the network). SELDPIPE_ZENODO_URL overrides the server (default ${zenodoBaseUrl({})}).`
  static override examples = [
    '<%= config.bin %> download ansim --ov 1,2,3 --split 1',
    '<%= config.bin %> download real --split 1,2,3          # REAL publishes splits 1, 8, 9: 2 and 3 name 8 and 9',
  ]
  static override args = {
    dataset: Args.string({required: true, options: downloaded.map((dataset) => dataset.name), description: 'dataset to fetch'}),
  }
  static override flags = {
    ov: numbers({description: 'overlaps [default: all published]'}),
    split: numbers({description: 'splits, as in --matrix split=… (seldpipe\'s 1, 2, 3 or the published numbers) [default: all published]'}),
    dir: Flags.string({default: 'data', description: 'data folder: zips go to <dir>/<dataset>/'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Download)
    const dataset = datasetSpec(args.dataset)
    const overlaps = flags.ov ?? dataset.overlaps ?? [1]
    const splits = flags.split ?? dataset.splits ?? [1]
    const from = path.join(flags.dir, dataset.name)
    const live = process.stderr.isTTY
    let lastLine = 0
    const onProgress = (progress: Progress) => {
      if (live) process.stderr.write(`\r\x1b[K${formatProgress(progress)}`)
      else if (Date.now() - lastLine >= 10_000 || progress.bytes === progress.total) {
        lastLine = Date.now()
        this.logToStderr(formatProgress(progress))
      }
    }
    const failed: string[] = []
    for (const ov of overlaps) {
      for (const split of splits) {
        try {
          const result = await ensureDatasetZip(dataset.name, ov, split, from, {
            onProgress,
            log: (line) => {
              if (live) process.stderr.write('\r\x1b[K')
              this.log(line)
            },
            retry: {...DEFAULT_RETRIES, onRetry: (problem, wait) => this.logToStderr(`${problem}; retrying in ${(wait / 1000).toFixed(1)} s`)},
          })
          if (live) process.stderr.write('\r\x1b[K')
          this.log(`${result.zip}: ${result.outcome}`)
        } catch (error) {
          if (live) process.stderr.write('\r\x1b[K')
          this.logToStderr(`error: ${(error as Error).message}`)
          failed.push(`ov${ov} split${split}`)
        }
      }
    }
    if (failed.length > 0) this.error(`${failed.length} of ${overlaps.length * splits.length} zips failed (${failed.join(', ')})`, {exit: 1})
  }
}
