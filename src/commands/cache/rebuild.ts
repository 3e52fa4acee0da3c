import {existsSync, rmSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {Command, Flags} from '@oclif/core'
import {Cache} from '../../pipeline/state/cache.js'
import {CacheIndexError} from '../../pipeline/state/index-file.js'
import {acquireLock, describeHolder} from '../../pipeline/state/lock.js'

export default class CacheRebuild extends Command {
  static override description = `Replace a damaged cache index (cache/index.lmdb) with an empty one.

The index records which inputs produced which outs. Without it every instance runs again on the next run; outs
whose content is still in cache/objects are not stored twice. A healthy index is left alone unless --force is given.`
  static override examples = ['<%= config.bin %> cache rebuild', '<%= config.bin %> cache rebuild --force']
  static override flags = {
    pipeline: Flags.string({description: 'the pipeline file; its folder holds cache/', default: 'pipeline.yaml', helpValue: 'PATH'}),
    force: Flags.boolean({description: 'replace the index even when it opens without error'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CacheRebuild)
    const cacheDir = join(dirname(resolve(flags.pipeline)), 'cache')
    const indexFile = join(cacheDir, 'index.lmdb')
    const shown = relative(process.cwd(), indexFile) || indexFile
    if (!existsSync(cacheDir)) {
      this.log(`${relative(process.cwd(), cacheDir) || cacheDir} does not exist: nothing to rebuild`)
      return
    }
    // A run must not be writing the index while it is replaced.
    const release = await acquireLock(join(cacheDir, 'lock'), (holder) => this.logToStderr(`waiting for the seldpipe run holding the lock (${describeHolder(holder)})`))
    try {
      let damage: string | undefined
      try {
        await new Cache(cacheDir).close()
      } catch (error) {
        if (!(error instanceof CacheIndexError)) throw error
        damage = error.problem
      }
      if (damage === undefined && !flags.force) {
        this.log(`${shown} opens without error: left as it is (--force replaces it anyway)`)
        return
      }
      for (const suffix of ['', '-lock']) rmSync(`${indexFile}${suffix}`, {force: true})
      await new Cache(cacheDir).close()
      this.log(`${shown} ${damage === undefined ? 'replaced' : `was damaged (${damage}): replaced`} by an empty index; the next run runs every instance again`)
    } finally {
      await release()
    }
  }
}
