import {existsSync, readdirSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {RESTORE_SUFFIX, type Cache} from './cache.js'
import {isAlive} from './lock.js'

/**
 * What a stage builds an out in before renaming it into place: a hidden sibling `.<name>.partial-<pid>` (the
 * convention of the stages' atomic writers). A killed stage leaves it behind.
 */
const PARTIAL = /^\..+\.partial-(\d+)$/

/**
 * Removes what killed processes left beside the outs (partial siblings of dead processes, interrupted restores) and in
 * cache/objects (temporary copies of dead coordinators). Call it holding the run lock, with `outs` the absolute paths
 * of outs no live process is writing (a stage on another host has pids this host cannot check). Returns what it removed.
 */
export async function removeLeftovers(outs: readonly string[], cache: Cache): Promise<string[]> {
  const removed: string[] = []
  for (const folder of new Set(outs.map((out) => dirname(out)))) {
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch {
      continue
    }
    for (const name of names) {
      const pid = PARTIAL.exec(name)?.[1]
      if (pid === undefined || isAlive(Number(pid))) continue
      await rm(join(folder, name), {recursive: true, force: true})
      removed.push(join(folder, name))
    }
  }
  // Only the coordinator holding the lock restores outs, so any restore folder found now was interrupted.
  for (const out of outs) {
    const restore = `${out}${RESTORE_SUFFIX}`
    if (!existsSync(restore)) continue
    await rm(restore, {recursive: true, force: true})
    removed.push(restore)
  }
  removed.push(...(await cache.removeDeadTemporaries(isAlive)))
  return removed
}
