import {parseArgs, type ParseArgsConfig} from 'node:util'
import {formatProgressLine} from '../src/pipeline/run/stage-progress.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * Runs a stage's main function as a process: parses `--name value` flags, and on any error prints one clear line to
 * stderr and exits 1, so the pipeline records nothing for the stage.
 */
export function runStage<O extends Options>(options: O, main: (values: ReturnType<typeof parseArgs<{options: O; strict: true; allowPositionals: true}>>) => Promise<void> | void): void {
  let parsed
  try {
    parsed = parseArgs({options, strict: true, allowPositionals: true})
  } catch (error) {
    console.error(`error: ${(error as Error).message}`)
    process.exit(2)
  }
  Promise.resolve()
    .then(() => main(parsed))
    .catch((error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
      process.exit(1)
    })
}

/** Reads a required string flag, failing clearly when it is missing. */
export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value === '') throw new Error(`--${name} is required`)
  return value
}

/** Reads a required numeric flag. */
export function requiredNumber(values: Record<string, unknown>, name: string): number {
  const text = required(values, name)
  const value = Number(text)
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got '${text}'`)
  return value
}

/** Prints a progress line in the pipeline's progress protocol (see src/pipeline/run/stage-progress.ts). */
export function reportProgress(text: string): void {
  process.stdout.write(formatProgressLine(text))
}
