import {existsSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {Command, Flags} from '@oclif/core'
import {Cache} from '../../pipeline/state/cache.js'
import {reportingPipelineErrors} from '../../pipeline/spec/command-flags.js'

export default class CacheVerify extends Command {
  static override description = `Check every object in cache/objects against its name (the sha256 of its content).

A corrupt object is deleted (with --keep, only listed): an instance whose out needed it then runs again instead of
restoring bad bytes. Exit code 1 when any object was corrupt.`
  static override examples = ['<%= config.bin %> cache verify', '<%= config.bin %> cache verify --keep --pipeline experiments/pipeline.yaml']
  static override flags = {
    pipeline: Flags.string({description: 'the pipeline file; its folder holds cache/', default: 'pipeline.yaml', helpValue: 'PATH'}),
    keep: Flags.boolean({description: 'list corrupt objects without deleting them'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CacheVerify)
    const cacheDir = join(dirname(resolve(flags.pipeline)), 'cache')
    if (!existsSync(cacheDir)) {
      this.log(`${relative(process.cwd(), cacheDir) || cacheDir} does not exist: nothing to verify`)
      return
    }
    const cache = await reportingPipelineErrors(this.error.bind(this), async () => new Cache(cacheDir))
    try {
      const {checked, corrupt} = await cache.verifyObjects(!flags.keep)
      for (const path of corrupt) this.log(`corrupt: ${relative(process.cwd(), path)}${flags.keep ? '' : ' (deleted)'}`)
      this.log(`${checked} objects checked: ${corrupt.length === 0 ? 'every one matches its name' : `${corrupt.length} corrupt`}`)
      if (corrupt.length > 0) this.exit(1)
    } finally {
      await cache.close()
    }
  }
}
