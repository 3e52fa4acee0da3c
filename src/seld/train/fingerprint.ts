import {createHash} from 'node:crypto'
import {closeSync, openSync, readSync} from 'node:fs'
import {basename} from 'node:path'

const BLOCK = 1 << 20

/**
 * Identifies a training run, so a checkpoint is only continued with the same configuration and data. `inputsKey`,
 * when the caller has one, is a hash already covering every input's full content (the pipeline's cache key);
 * otherwise every data file is read whole: a change anywhere in a file, not just near its ends, changes the result.
 */
export function trainingFingerprint(configuration: unknown, files: readonly string[], inputsKey?: string): string {
  const hash = createHash('sha256').update(JSON.stringify(configuration))
  if (inputsKey !== undefined && inputsKey !== '') return hash.update(`\0key\0${inputsKey}`).digest('hex')
  const block = Buffer.alloc(BLOCK)
  for (const file of files) {
    hash.update(`\0${basename(file)}\0`)
    const fd = openSync(file, 'r')
    try {
      for (let read; (read = readSync(fd, block, 0, BLOCK, null)) > 0; ) hash.update(block.subarray(0, read))
    } finally {
      closeSync(fd)
    }
  }
  return hash.digest('hex')
}
