import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/** Where `target` is built before it is renamed into place: a hidden sibling, so the rename stays on one file system. */
export function partialName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}`)
}

/**
 * Writes `file` through a temporary sibling and a rename, so a killed process never leaves a half-written file
 * under the real name. `write` receives the temporary path (for writers that stream or use file descriptors).
 */
export function writeFileAtomically(file: string, content: string | Uint8Array | ((temporary: string) => void)): void {
  const temporary = partialName(file)
  try {
    if (typeof content === 'function') content(temporary)
    else writeFileSync(temporary, content)
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw error
  }
}

/** An empty sibling of `target` to build it in, so a failure never leaves a half-written `target`. */
export function stagingDirectory(target: string): string {
  const staging = partialName(target)
  rmSync(staging, {recursive: true, force: true})
  mkdirSync(staging, {recursive: true})
  return staging
}

/** Replaces `target` with the finished `staging` directory. */
export function publishStaged(staging: string, target: string): void {
  rmSync(target, {recursive: true, force: true})
  renameSync(staging, target)
}

/** Builds the directory `target` in a staging sibling and puts it in place only when `build` succeeds. */
export async function buildDirectoryAtomically(target: string, build: (staging: string) => Promise<void> | void): Promise<void> {
  const staging = stagingDirectory(target)
  try {
    await build(staging)
  } catch (error) {
    rmSync(staging, {recursive: true, force: true})
    throw error
  }
  publishStaged(staging, target)
}
