import {readFileSync} from 'node:fs'
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {formatKeyPath, PipelineError} from './errors.js'

export type JsonSchema = Record<string, unknown>

/** Where a schema error points and what it says, e.g. `{keyPath: ['train', 'epochz'], message: 'unknown key'}`. */
export interface SchemaProblem {
  keyPath: (string | number)[]
  message: string
  /** The key itself is the problem (it should not be there), rather than its value. */
  atKey?: boolean
}

/** Turns Ajv's first error into a key path and a sentence about it. */
export function describeSchemaError(error: ErrorObject): SchemaProblem {
  const keyPath: (string | number)[] = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part))
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties':
      return {keyPath: [...keyPath, String(params.additionalProperty)], message: 'unknown key', atKey: true}
    case 'propertyNames':
      return {keyPath: [...keyPath, String(params.propertyName)], message: 'invalid name: must be letters, digits, _ or -, starting with a letter or _'}
    case 'pattern':
      return {keyPath, message: `must match ${String(params.pattern)}`}
    case 'const':
      return {keyPath, message: `must be ${JSON.stringify(params.allowedValue)}`}
    case 'enum':
      return {keyPath, message: `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`}
    default:
      return {keyPath, message: error.message ?? 'invalid'}
  }
}

/**
 * The error to show. Ajv lists the failures inside a oneOf before the oneOf itself; the inner one says more, and among
 * the branches' failures the deepest, or else one that is not a plain type mismatch, says what the author meant (e.g.
 * an out written as a mapping with a bad `cache` fails the string branch too).
 */
export function firstSchemaProblem(errors: readonly ErrorObject[]): SchemaProblem {
  const inner = errors.filter((error) => error.keyword !== 'oneOf')
  const depth = (error: ErrorObject) => error.instancePath.split('/').length
  const deepest = Math.max(...inner.map(depth))
  const candidates = inner.filter((error) => depth(error) === deepest)
  return describeSchemaError(candidates.find((error) => error.keyword !== 'type') ?? candidates[0] ?? errors[0])
}

/** The same schema with every declared property of every object required: what the merged parameters must satisfy. */
export function requiringEverything(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(requiringEverything)
  if (schema === null || typeof schema !== 'object') return schema
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'properties' ? mapValues(value as JsonSchema, requiringEverything) : requiringEverything(value)]))
  if (copy.properties !== undefined) copy.required = Object.keys(copy.properties as JsonSchema)
  return copy
}

function mapValues(record: JsonSchema, map: (value: unknown) => unknown): JsonSchema {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]))
}

/**
 * A params schema, compiled twice: as written (a params file or preset may give any subset) and with every key
 * required (the parameters once every file and --set is merged).
 */
export class ParamsSchema {
  private readonly partial: ValidateFunction
  private readonly complete: ValidateFunction

  constructor(schema: JsonSchema) {
    // One Ajv per variant: both carry the schema's $id, which one instance accepts only once.
    this.partial = new Ajv({allErrors: false, strict: false}).compile(schema)
    this.complete = new Ajv({allErrors: false, strict: false}).compile(requiringEverything(schema) as JsonSchema)
  }

  static read(file: string): ParamsSchema {
    let schema: JsonSchema
    try {
      schema = JSON.parse(readFileSync(file, 'utf8')) as JsonSchema
    } catch (error) {
      throw new PipelineError(`${file}: cannot read the params schema (${(error as Error).message})`)
    }
    try {
      return new ParamsSchema(schema)
    } catch (error) {
      throw new PipelineError(`${file}: not a valid JSON Schema (${(error as Error).message})`)
    }
  }

  /** The first problem of a params file's (or preset's) data, which may leave keys out. */
  checkPart(data: unknown): SchemaProblem | undefined {
    return this.partial(data) ? undefined : firstSchemaProblem(this.partial.errors ?? [])
  }

  /** The first problem of the merged parameters, which must give every key. */
  checkWhole(data: unknown): SchemaProblem | undefined {
    return this.complete(data) ? undefined : firstSchemaProblem(this.complete.errors ?? [])
  }
}

export function formatProblem({keyPath, message}: SchemaProblem): string {
  return keyPath.length === 0 ? message : `${formatKeyPath(keyPath)}: ${message}`
}
