import {hostname} from 'node:os'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

function holderAlive(holder: string): boolean {
  const [host, pidText] = holder.split(':')
  // Another host's process cannot be checked from here: assume it lives (the wait message names the file to delete).
  if (host !== hostname()) return true
  try {
    process.kill(Number(pidText), 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs `body` holding `lock` (a file naming host:pid, created exclusively), so two processes never write the same
 * download at once. A lock left by a dead process on this host is taken over; `onWait` is told once when waiting.
 */
export async function withFileLock<T>(lock: string, onWait: (holder: string) => void, body: () => Promise<T>, pollMs = 1000): Promise<T> {
  const me = `${hostname()}:${process.pid}`
  let told = false
  for (;;) {
    try {
      writeFileSync(lock, me, {flag: 'wx'})
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let holder: string
    try {
      holder = readFileSync(lock, 'utf8').trim()
    } catch {
      continue // released meanwhile
    }
    if (!holderAlive(holder)) {
      rmSync(lock, {force: true})
      continue
    }
    if (!told) onWait(holder)
    told = true
    await sleep(pollMs)
  }
  try {
    return await body()
  } finally {
    rmSync(lock, {force: true})
  }
}
