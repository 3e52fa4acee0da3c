import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Cache} from './cache.js'
import {Hasher} from './hash.js'

/** An out of a stage's newest successful instance, as the cache index recorded it. */
export interface RecordedOut {
  /** The instance, e.g. `train@dataset=synth-foa,ov=1,split=1`. */
  id: string
  /** Absolute path of its first out. */
  path: string
  finishedAt: string
}

/**
 * The first out of the newest successful instance of `stage` whose out on disk still has the recorded content (so a
 * run killed since, which cleared or half-rewrote it, does not count). undefined when the project has no cache index
 * (`hasIndex` false) or no such instance.
 */
export async function newestRecordedOut(root: string, stage: string): Promise<{hasIndex: boolean; out?: RecordedOut}> {
  const cacheDir = join(root, 'cache')
  if (!existsSync(join(cacheDir, 'index.lmdb'))) return {hasIndex: false}
  const cache = new Cache(cacheDir)
  try {
    // A private memo: reading the model must not write the index a run may be using.
    const hasher = new Hasher(new Map())
    const candidates = [...cache.instanceRecords()]
      .filter(([id]) => id === stage || id.startsWith(`${stage}@`))
      .flatMap(([id, instance]) => {
        const record = cache.keyRecord(instance.key)
        return record && record.outs.length > 0 ? [{id, record}] : []
      })
      .sort((a, b) => b.record.finishedAt.localeCompare(a.record.finishedAt))
    for (const {id, record} of candidates) {
      const [out] = record.outs
      const path = join(root, out.path)
      if ((await hasher.hashPath(path))?.hash === out.content.hash) return {hasIndex: true, out: {id, path, finishedAt: record.finishedAt}}
    }
    return {hasIndex: true}
  } finally {
    await cache.close()
  }
}
