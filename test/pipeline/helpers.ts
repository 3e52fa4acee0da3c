import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterEach} from 'vitest'

/** A fresh temporary folder per call, removed after the test. */
export function useTempDirs(): (files?: Record<string, string>) => string {
  const made: string[] = []
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, {recursive: true, force: true})
  })
  return (files = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'seldpipe-test-'))
    made.push(dir)
    writeFiles(dir, files)
    return dir
  }
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), {recursive: true})
    writeFileSync(join(dir, path), text)
  }
}
