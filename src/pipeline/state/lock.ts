import {readFileSync} from 'node:fs'
import {link, unlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

export interface LockHolder {
  pid: number
  host: string
  startedAt: string
}

const POLL_MS = 200

/** Whether a process with this pid runs on this host (one owned by another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder
  } catch {
    return undefined
  }
}

/** The live holder of the lock, if any (a holder on this host whose process is gone does not count). */
export function lockHolder(file: string): LockHolder | undefined {
  const holder = readHolder(file)
  return holder !== undefined && (holder.host !== hostname() || isAlive(holder.pid)) ? holder : undefined
}

export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}`
}

/**
 * Takes the project's run lock, waiting while a live run holds it (`onWait` is told once). A lock left by a killed
 * run on this host is taken over. Returns the function that releases it.
 */
export async function acquireLock(file: string, onWait: (holder: LockHolder) => void, signal?: AbortSignal): Promise<() => Promise<void>> {
  const mine: LockHolder = {pid: process.pid, host: hostname(), startedAt: new Date().toISOString()}
  let told = false
  for (;;) {
    signal?.throwIfAborted()
    // Written aside then linked into place: the lock appears atomically, complete, or not at all.
    const draft = `${file}.${process.pid}`
    await writeFile(draft, JSON.stringify(mine))
    try {
      await link(draft, file)
      return async () => {
        if (readHolder(file)?.pid === mine.pid) await unlink(file).catch(() => undefined)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      await unlink(draft).catch(() => undefined)
    }
    const holder = readHolder(file)
    if (holder === undefined) {
      await unlink(file).catch(() => undefined) // unreadable: not written by this lock
      continue
    }
    if (holder.host === hostname() && !isAlive(holder.pid)) {
      if (readHolder(file)?.pid === holder.pid) await unlink(file).catch(() => undefined)
      continue
    }
    if (!told) onWait(holder)
    told = true
    await sleep(POLL_MS, undefined, {signal}).catch(() => undefined)
  }
}
