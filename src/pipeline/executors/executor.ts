/** Compute resources a stage asks for; a cluster executor uses them all, the local engine only `gpus`. */
export interface Resources {
  gpus?: number
  cpus?: number
  mem?: string
  time?: string
  partition?: string
}

// In a module of its own, so the stage scripts that read it do not load (and key on) the executor interface.
export {CACHE_KEY_ENV} from './cache-key-env.js'

/** One stage instance's command, ready to run: the engine has interpolated it and cleared its outs. */
export interface Job {
  /** Stable, human-readable instance id, e.g. `features@dataset=ansim,ov=1,split=1`. */
  id: string
  argv: string[]
  cwd: string
  /** Where the full stdout+stderr log must be written. */
  logFile: string
  /** The instance's cache key: what the job's outputs will be recorded under. */
  key?: string
  resources?: Resources
  /**
   * The GPUs the engine lent this job (an executor that runs on this machine exposes exactly these, through
   * CUDA_VISIBLE_DEVICES; an empty list hides every GPU). Undefined: the job keeps the environment it inherits.
   */
  gpus?: string[]
}

export interface JobResult {
  /** null when the process was ended by a signal or the job was cancelled. */
  exitCode: number | null
  signal?: string
  /** The last lines of stderr, shown to the user when the job fails. */
  stderrTail: string
  /** Executor-specific handle shown by `status` while the job runs (e.g. a Slurm job id). */
  handle?: string
}

/** The seam between the engine and whatever runs commands: local subprocesses, or a cluster scheduler. */
export interface Executor {
  readonly name: string
  /** True when jobs run on this machine, so the engine places them on its GPUs; a cluster scheduler places its own. */
  readonly runsOnThisMachine?: boolean
  /**
   * The result of this very job (same key and command) if it already ran to a successful end while no coordinator
   * was watching (a cluster job that outlived a killed coordinator): the engine then records its outs instead of
   * clearing them and running it again.
   */
  completed?(job: Job): Promise<JobResult | undefined>
  /**
   * Runs a job to completion; aborting `signal` must stop the job (kill the process, cancel the cluster job).
   * `onProgress` receives the text of each progress line the job prints (see run/stage-progress.ts) as it arrives.
   */
  run(job: Job, signal: AbortSignal, onStart?: (handle: string) => void, onProgress?: (text: string) => void): Promise<JobResult>
  /** Called once when the run is over: releases what the executor holds (the Slurm coordinator lock). */
  close?(): Promise<void>
}

/** What an executor may need to know about the project it runs for. */
export interface ExecutorContext {
  /** The project's cache/ folder (logs, index); executors keep their own state in a subfolder of it. */
  cacheDir: string
  /** Reports trouble the executor retries rather than fails, shown to the user as a warning. */
  warn: (message: string) => void
}
