import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach} from 'vitest'

/** A fresh temporary folder for every test of the calling file, removed after it; call the result to get its path. */
export function useWorkDir(prefix: string): () => string {
  let dir = ''
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  return () => dir
}
