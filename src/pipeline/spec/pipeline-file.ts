import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv, type ErrorObject} from 'ajv'
import {firstSchemaProblem, formatProblem, ParamsSchema} from './params-schema.js'
import {parse as parseYaml} from 'yaml'
import {PipelineError} from './errors.js'
import type {Resources} from '../executors/executor.js'
import {readYamlFile, type YamlFile} from './yaml-file.js'

export type Params = Record<string, unknown>

export interface StageSpec {
  name: string
  desc?: string
  cmd: string
  deps: string[]
  outs: string[]
  /** The outs (as written in `outs`) marked `cache: false`: recorded by hash, never copied into cache/objects. */
  uncachedOuts: string[]
  params: string[]
  /** Matrix key → glob patterns; the stage has instances only for values matching one of them. */
  only: Record<string, string[]>
  /** Whether the key of a `node <script>` command covers the code it runs (`track_code`, default true). */
  trackCode: boolean
  /** JSON files inside the outs whose numbers are kept with every successful run (templates, like outs). */
  metrics: string[]
  resources?: Resources
}

/** pipeline.yaml with its params files loaded and the command-line overrides applied. */
export interface Pipeline {
  file: string
  /** Folder of pipeline.yaml: relative paths resolve against it and cache/ lives in it. */
  root: string
  /** The effective sweep: key → values, in file order; dotted keys sweep parameters (see isParamKey). */
  matrix: Record<string, string[]>
  params: Params
  paramFiles: string[]
  stages: StageSpec[]
  /** An error located in pipeline.yaml, e.g. `pipeline.yaml:12:7: stages.train.deps[2]: ...`. */
  error(keyPath: readonly (string | number)[], message: string): PipelineError
}

export interface Overrides {
  /** `key=v1,v2` items replacing the default values of the matrix keys they name. */
  matrix?: string[]
  /** `dotted.key=value` items overriding parameters for this run. */
  set?: string[]
  /** Extra params files (e.g. presets) layered over the pipeline's own, in order; relative to the current folder. */
  params?: string[]
}

export const MATRIX_VALUE = /^[A-Za-z0-9._-]+$/

/** A dotted matrix key (`train.lr`) sweeps a parameter; plain keys (`dataset`) are matrix variables. */
export function isParamKey(key: string): boolean {
  return key.includes('.')
}

/** A parameter value given on the command line or in the matrix, read as YAML (`0.001` is a number). */
export function parseParamValue(text: string): unknown {
  try {
    return parseYaml(text)
  } catch {
    return text
  }
}

/** The params with the swept values of one matrix combination filled in. */
export function withSweptValues(params: Params, values: Record<string, string>): Params {
  const entries = Object.entries(values).filter(([key]) => isParamKey(key))
  if (entries.length === 0) return params
  const result = structuredClone(params)
  for (const [key, text] of entries) setParam(result, key, parseParamValue(text))
  return result
}

function setParam(params: Params, key: string, value: unknown): void {
  const parts = key.split('.')
  const parent = parts.length === 1 ? params : (lookupParam(params, parts.slice(0, -1).join('.')).value as Params)
  parent[parts.at(-1)!] = value
}

/** Why a dotted key cannot be swept, or undefined when it can: it must name one value of the params. */
function sweepProblem(params: Params, key: string, paramFiles: readonly string[]): string | undefined {
  const {found, value} = lookupParam(params, key)
  if (!found) return `unknown parameter '${key}' (not in ${paramFiles.join(', ') || 'any params file'})`
  if (value !== null && typeof value === 'object') return `'${key}' is a section of parameters: sweep the values inside it (e.g. ${key}.${Object.keys(value)[0] ?? 'name'})`
  return undefined
}

function findSchemaFile(): string {
  // The schema sits at the repository root, above both src/pipeline (tests) and dist/src/pipeline (the CLI).
  for (let folder = dirname(fileURLToPath(import.meta.url)); ; folder = dirname(folder)) {
    const candidate = join(folder, 'pipeline.schema.json')
    if (existsSync(candidate)) return candidate
    if (dirname(folder) === folder) throw new Error('pipeline.schema.json not found above the seldpipe installation')
  }
}

let validator: ReturnType<Ajv['compile']> | undefined
function validatePipeline(data: unknown): ErrorObject[] {
  validator ??= new Ajv({allErrors: false, strict: false}).compile(JSON.parse(readFileSync(findSchemaFile(), 'utf8')))
  return validator(data) ? [] : (validator.errors ?? [])
}

export function lookupParam(params: Params, key: string): {found: boolean; value?: unknown} {
  let node: unknown = params
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, part)) return {found: false}
    node = (node as Params)[part]
  }
  return {found: true, value: node}
}

function mergeParams(base: Params, override: Params): Params {
  const merged: Params = {...base}
  for (const [key, value] of Object.entries(override)) {
    const previous = merged[key]
    const bothMappings = [previous, value].every((node) => node !== null && typeof node === 'object' && !Array.isArray(node))
    merged[key] = bothMappings ? mergeParams(previous as Params, value as Params) : value
  }
  return merged
}

function splitAssignment(flag: string, item: string): [string, string] {
  const at = item.indexOf('=')
  if (at <= 0) throw new PipelineError(`${flag} ${item}: expected key=value`)
  return [item.slice(0, at), item.slice(at + 1)]
}

/** Applies `--matrix key=v1,v2` items; a dotted key (a parameter of `params`) may be added to sweep it. */
export function applyMatrixOverrides(matrix: Record<string, string[]>, items: readonly string[], params?: Params, paramFiles: readonly string[] = []): Record<string, string[]> {
  const result = {...matrix}
  for (const item of items) {
    const [key, list] = splitAssignment('--matrix', item)
    if (isParamKey(key) && params !== undefined) {
      const problem = sweepProblem(params, key, paramFiles)
      if (problem !== undefined) throw new PipelineError(`--matrix ${item}: ${problem}`)
    } else if (!Object.hasOwn(matrix, key)) {
      const known = Object.keys(matrix)
      throw new PipelineError(`--matrix ${item}: unknown matrix key '${key}' (known: ${known.length > 0 ? known.join(', ') : 'none'})`)
    }
    const values = list.split(',')
    const bad = values.find((value) => !MATRIX_VALUE.test(value))
    if (bad !== undefined) throw new PipelineError(`--matrix ${item}: value '${bad}' must match ${MATRIX_VALUE.source}`)
    result[key] = [...new Set(values)]
  }
  return result
}

export function applyParamOverrides(params: Params, items: readonly string[], paramFiles: readonly string[], schema?: ParamsSchema): Params {
  const result = structuredClone(params)
  for (const item of items) {
    const [key, text] = splitAssignment('--set', item)
    if (!lookupParam(result, key).found) {
      throw new PipelineError(`--set ${item}: unknown parameter '${key}' (not in ${paramFiles.join(', ') || 'any params file'})`)
    }
    setParam(result, key, parseParamValue(text))
    const problem = schema?.checkPart(result)
    if (problem !== undefined) throw new PipelineError(`--set ${item}: ${formatProblem(problem)}`)
  }
  return result
}

/** A params file's data: a mapping that, when the pipeline has a params schema, satisfies it (keys may be left out). */
function paramsOf(file: YamlFile, schema: ParamsSchema | undefined): Params {
  const data = file.data ?? {}
  if (typeof data !== 'object' || Array.isArray(data)) throw file.error([], 'a params file must be a mapping of names to values')
  const problem = schema?.checkPart(data)
  if (problem !== undefined) throw file.error(problem.keyPath, problem.message, problem.atKey ? 'key' : 'value')
  return data as Params
}

async function loadParams(root: string, pipelineFile: YamlFile, listed: string | string[] | undefined, overlays: readonly string[], schema: ParamsSchema | undefined): Promise<Params> {
  let params: Params = {}
  const list = listed === undefined ? [] : typeof listed === 'string' ? [listed] : listed
  for (const [index, name] of list.entries()) {
    const file = await readYamlFile(resolve(root, name)).catch((error: unknown) => {
      throw error instanceof PipelineError && error.message.endsWith('file not found')
        ? pipelineFile.error(typeof listed === 'string' ? ['params'] : ['params', index], `params file ${name} not found`)
        : error
    })
    params = mergeParams(params, paramsOf(file, schema))
  }
  for (const name of overlays) params = mergeParams(params, paramsOf(await readYamlFile(resolve(name)), schema))
  return params
}

interface RawStage {
  desc?: string
  cmd: string
  deps?: string[]
  outs?: (string | {path: string; cache?: boolean})[]
  params?: string[]
  only?: Record<string, (string | number)[]>
  track_code?: boolean
  metrics?: string[]
  resources?: Resources
}
interface RawPipeline {
  version: 1
  params?: string | string[]
  params_schema?: string
  matrix?: Record<string, (string | number)[]>
  stages: Record<string, RawStage>
}

/** Reads, validates and resolves a pipeline; every problem is a PipelineError naming the file and location. */
export async function loadPipeline(file: string, overrides: Overrides = {}): Promise<Pipeline> {
  const path = resolve(file)
  const root = dirname(path)
  const yamlFile = await readYamlFile(path)
  const errors = validatePipeline(yamlFile.data)
  if (errors.length > 0) {
    const {keyPath, message} = firstSchemaProblem(errors)
    throw yamlFile.error(keyPath, message)
  }
  const raw = yamlFile.data as RawPipeline
  const paramFiles = [...(raw.params === undefined ? [] : typeof raw.params === 'string' ? [raw.params] : raw.params), ...(overrides.params ?? [])]
  const schemaFile = raw.params_schema === undefined ? undefined : resolve(root, raw.params_schema)
  if (schemaFile !== undefined && !existsSync(schemaFile)) throw yamlFile.error(['params_schema'], `params schema ${raw.params_schema} not found`)
  const schema = schemaFile === undefined ? undefined : ParamsSchema.read(schemaFile)
  const fileParams = await loadParams(root, yamlFile, raw.params, overrides.params ?? [], schema)
  const params = applyParamOverrides(fileParams, overrides.set ?? [], paramFiles, schema)
  const incomplete = schema?.checkWhole(params)
  if (incomplete !== undefined) {
    throw new PipelineError(`parameters: ${formatProblem(incomplete)} (after merging ${paramFiles.join(', ') || 'no params file'}${overrides.set?.length ? ' and --set' : ''})`)
  }
  const defaultMatrix = Object.fromEntries(Object.entries(raw.matrix ?? {}).map(([key, values]) => [key, values.map(String)]))
  for (const key of Object.keys(defaultMatrix).filter(isParamKey)) {
    const problem = sweepProblem(params, key, paramFiles)
    if (problem !== undefined) throw yamlFile.error(['matrix', key], problem)
  }
  const matrix = applyMatrixOverrides(defaultMatrix, overrides.matrix ?? [], params, paramFiles)
  // Each swept value must be a valid value of its parameter, as a --set of it would be.
  for (const [key, values] of Object.entries(matrix).filter(([key]) => isParamKey(key))) {
    for (const value of values) {
      const problem = schema?.checkPart(withSweptValues(params, {[key]: value}))
      if (problem === undefined) continue
      const message = `${key}=${value}: ${formatProblem(problem)}`
      throw Object.hasOwn(defaultMatrix, key) && defaultMatrix[key].includes(value) ? yamlFile.error(['matrix', key], message) : new PipelineError(`--matrix ${message}`)
    }
  }
  for (const item of overrides.set ?? []) {
    const key = item.slice(0, item.indexOf('='))
    if (isParamKey(key) && Object.hasOwn(matrix, key)) throw new PipelineError(`--set ${item}: '${key}' is also swept by the matrix; give its values in one place`)
  }
  const stages = Object.entries(raw.stages).map(([name, stage]): StageSpec => {
    for (const [index, key] of (stage.params ?? []).entries()) {
      if (!lookupParam(params, key).found) {
        throw yamlFile.error(['stages', name, 'params', index], `unknown parameter '${key}' (not in ${paramFiles.join(', ') || 'any params file'})`)
      }
    }
    for (const key of Object.keys(stage.only ?? {})) {
      if (!Object.hasOwn(matrix, key) || isParamKey(key)) throw yamlFile.error(['stages', name, 'only', key], `'${key}' is not a matrix variable`)
    }
    return {
      name,
      desc: stage.desc,
      cmd: stage.cmd,
      deps: stage.deps ?? [],
      outs: (stage.outs ?? []).map((out) => (typeof out === 'string' ? out : out.path)),
      uncachedOuts: (stage.outs ?? []).flatMap((out) => (typeof out !== 'string' && out.cache === false ? [out.path] : [])),
      params: stage.params ?? [],
      only: Object.fromEntries(Object.entries(stage.only ?? {}).map(([key, patterns]) => [key, patterns.map(String)])),
      trackCode: stage.track_code ?? true,
      metrics: stage.metrics ?? [],
      resources: stage.resources,
    }
  })
  return {file: path, root, matrix, params, paramFiles, stages, error: yamlFile.error}
}
