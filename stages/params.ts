import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv} from 'ajv'
import {firstSchemaProblem, formatProblem, requiringEverything, type JsonSchema} from '../src/pipeline/spec/params-schema.js'
import type {BackendPreference} from '../src/seld/model/backend.js'
import type {FeatureKind} from '../src/seld/features/feature-kinds.js'
import type {OutputKind} from '../src/seld/model/outputs.js'
import type {ValidationChoice} from '../src/seld/train/validation.js'

/** The sections of params.schema.json as the stages receive them (one JSON argument per section). */
export interface ModelParams {
  conv_filters: number
  pool_sizes: number[]
  rnn_units: number | number[]
  fnn_units: number | number[]
  dropout: number
  loss_weights: [number, number]
  azi_only: boolean
  output: OutputKind
}

export interface FeaturesParams {
  nfft: number
  kind: FeatureKind
  mel_bands: number
}

export interface TrainParams {
  seq_len: number
  batch: number
  lr: number
  lr_decay: number
  epochs: number
  patience: number
  max_minutes: number
  backend: BackendPreference
  quick_test: boolean
  seed: number
  validation: ValidationChoice
  validation_fraction: number
}

export interface EvaluateParams {
  threshold: number
}

interface Sections {
  features: FeaturesParams
  model: ModelParams
  train: TrainParams
  evaluate: EvaluateParams
}

function paramsSchema(): JsonSchema {
  // params.schema.json sits at the repository root, above both stages/ and dist/stages/.
  for (let folder = dirname(fileURLToPath(import.meta.url)); ; folder = dirname(folder)) {
    const candidate = join(folder, 'params.schema.json')
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as JsonSchema
    if (dirname(folder) === folder) throw new Error('params.schema.json not found above the stage script')
  }
}

/**
 * A params section checked against params.schema.json with every key required: the pipeline checks the parameters
 * at load time, and this check keeps a stage run by hand just as safe.
 */
export function parseSection<K extends keyof Sections>(name: K, value: string | Record<string, unknown>, flag: string, defaults: Partial<Sections[K]> = {}): Sections[K] {
  let section: unknown = value
  if (typeof value === 'string') {
    try {
      section = JSON.parse(value)
    } catch (error) {
      throw new Error(`${flag} is not valid JSON (${(error as Error).message})`)
    }
  }
  // Keys added after a section was first written take these values when absent (sections of older runs and tests).
  if (section !== null && typeof section === 'object' && !Array.isArray(section)) section = {...defaults, ...section}
  const schema = paramsSchema()
  const sectionSchema = (schema.properties as Record<string, JsonSchema>)[name]
  const validate = new Ajv({allErrors: false, strict: false}).compile({...(requiringEverything(sectionSchema) as JsonSchema), definitions: schema.definitions})
  if (!validate(section)) {
    const problem = firstSchemaProblem(validate.errors ?? [])
    throw new Error(`${flag}: ${formatProblem({...problem, keyPath: [name, ...problem.keyPath]})}`)
  }
  return section as Sections[K]
}
