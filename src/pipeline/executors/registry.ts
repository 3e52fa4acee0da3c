import type {Executor, ExecutorContext} from './executor.js'
import {LocalExecutor} from './local.js'
import {createSlurmExecutor} from './slurm/slurm-executor.js'

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
