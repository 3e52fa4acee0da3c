import {createWriteStream, readFileSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {dirname} from 'node:path'
import {once} from 'node:events'
import {execa} from 'execa'
import {CACHE_KEY_ENV, type Executor, type Job, type JobResult} from './executor.js'
import {LineTail} from './line-tail.js'

const STDERR_TAIL_LINES = 20
/** Grace period between SIGTERM and SIGKILL when a run is aborted. */
const KILL_GRACE_MS = 3000
/** Linux's USER_HZ, the unit of process start times in /proc. */
const CLOCK_TICKS_PER_SECOND = 100
/** How far a leftover job's process start may be from the time its run recorded (a loaded machine spawns slowly). */
const START_TOLERANCE_MS = 10_000

/** Runs each job as a subprocess of this machine (argv array, never a shell), logging stdout+stderr to the job's log. */
export class LocalExecutor implements Executor {
  readonly name = 'local'
  readonly runsOnThisMachine = true

  async run(job: Job, signal: AbortSignal, onStart?: (handle: string) => void): Promise<JobResult> {
    await mkdir(dirname(job.logFile), {recursive: true})
    const log = createWriteStream(job.logFile)
    await once(log, 'open')
    const tail = new LineTail(STDERR_TAIL_LINES)
    const [file, ...args] = job.argv
    // Its own process group, so aborting also stops whatever the command started, and a later run can stop
    // the group if this coordinator is killed outright.
    const env = {...gpuEnvironment(job.gpus), ...(job.key === undefined ? {} : {[CACHE_KEY_ENV]: job.key})}
    const subprocess = execa(file, args, {cwd: job.cwd, env, stdin: 'ignore', buffer: false, reject: false, detached: true})
    const pid = subprocess.pid
    let cancelled = false
    let forceKill: NodeJS.Timeout | undefined
    const abort = () => {
      cancelled = true
      if (pid === undefined) return
      killGroup(pid, 'SIGTERM')
      forceKill = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS)
    }
    if (signal.aborted) abort()
    else signal.addEventListener('abort', abort, {once: true})
    if (pid !== undefined) onStart?.(`pid ${pid}`)
    subprocess.stdout?.on('data', (chunk: Buffer) => log.write(chunk))
    subprocess.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk)
      tail.push(chunk.toString('utf8'))
    })
    const result = await subprocess
    signal.removeEventListener('abort', abort)
    clearTimeout(forceKill)
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      // The process never started (e.g. the command is not found): the reason is execa's message.
      const reason: string = result.originalMessage ?? result.shortMessage ?? 'failed to start'
      log.write(`${reason}\n`)
      tail.push(reason)
    }
    if (cancelled) log.write('seldpipe: cancelled\n')
    log.end()
    await once(log, 'close')
    return {
      exitCode: cancelled ? null : (result.exitCode ?? null),
      signal: result.signal,
      stderrTail: tail.text(),
      handle: pid === undefined ? undefined : `pid ${pid}`,
    }
  }
}

/**
 * What a job placed on GPUs adds to its environment: exactly its devices, numbered as nvidia-smi numbers them (PCI
 * bus order, unless the user chose an order), and TensorFlow allocating GPU memory as it needs it rather than
 * reserving a whole device, so instances can share one.
 */
export function gpuEnvironment(gpus: readonly string[] | undefined, inherited: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (gpus === undefined) return {}
  return {CUDA_VISIBLE_DEVICES: gpus.join(','), TF_FORCE_GPU_ALLOW_GROWTH: 'true', CUDA_DEVICE_ORDER: inherited.CUDA_DEVICE_ORDER ?? 'PCI_BUS_ID'}
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group has already exited.
  }
}

/** When the process `pid` started, from /proc (Linux); undefined where that cannot be read. */
function processStartTime(pid: number): number | undefined {
  try {
    // Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces), in clock ticks since boot.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    return (bootSeconds + ticks / CLOCK_TICKS_PER_SECOND) * 1000
  } catch {
    return undefined
  }
}

/**
 * Stops the process group a LocalExecutor job started, e.g. one left behind by a killed run: only when the process
 * with that pid started when the job did, so a pid since reused by another program is left alone.
 */
export function stopLeftoverJob(handle: string, startedAt: string): boolean {
  const pid = Number(/^pid (\d+)$/.exec(handle)?.[1])
  if (!Number.isInteger(pid) || pid <= 1) return false
  const started = processStartTime(pid)
  if (started === undefined || Math.abs(started - Date.parse(startedAt)) > START_TOLERANCE_MS) return false
  try {
    process.kill(-pid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}
