import type {Executor} from './executor.js'
import {LocalExecutor} from './local-executor.js'

/** Executors selectable with `seldpipe run --executor NAME`; a new executor registers its factory here. */
export const executors: Record<string, () => Executor> = {
  local: () => new LocalExecutor(),
}

export function createExecutor(name: string): Executor {
  const factory = executors[name]
  if (factory === undefined) throw new Error(`unknown executor '${name}' (known: ${Object.keys(executors).join(', ')})`)
  return factory()
}
