import type {Executor} from './executor.js'
import {LocalExecutor} from './local.js'
import {createSlurmExecutor} from './slurm/slurm-executor.js'

/** What an executor may need to know about the project it runs for. */
export interface ExecutorContext {
  /** The project's cache/ folder (logs, index); executors keep their own state in a subfolder of it. */
  cacheDir: string
  /** Reports trouble the executor retries rather than fails, shown to the user as a warning. */
  warn: (message: string) => void
}

/** Executors selectable with `seldpipe run --executor NAME`; a new executor registers its factory here. */
export const executors: Record<string, (context: ExecutorContext) => Executor> = {
  local: () => new LocalExecutor(),
  slurm: createSlurmExecutor,
}

export function createExecutor(name: string, context: ExecutorContext): Executor {
  const factory = executors[name]
  if (factory === undefined) throw new Error(`unknown executor '${name}' (known: ${Object.keys(executors).join(', ')})`)
  return factory(context)
}
