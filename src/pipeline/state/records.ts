import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import type {Database} from 'lmdb'
import type {Instance} from '../graph/graph.js'
import {isParamKey} from '../spec/pipeline-file.js'
import {Cache} from './cache.js'
import {Hasher} from './hash.js'

/** An instance a recorded result was made from, with the key it ran with. */
export interface LineageEntry {
  id: string
  stage: string
  key: string
}

/**
 * One successful run of an instance, kept in the cache index (section `records`, keyed by `key`) for `seldpipe exp
 * show`, `params diff`, `metrics diff`, `metrics`, `predict --model <id>` and reports. The format is this type.
 */
export interface RunRecord {
  /** The instance key (sha256 hex); a row is named by its first SHORT_ID_LENGTH characters. */
  key: string
  /** e.g. `evaluate@dataset=synth-foa,ov=1,split=1,train.lr=0.001` */
  instance: string
  stage: string
  /** Matrix values of the instance (swept parameters included), as written in the matrix. */
  vars: Record<string, string>
  /** Every parameter value the instance and the instances upstream of it read: dotted key → value. */
  params: Record<string, unknown>
  /** The instance itself and every instance upstream of it, each with the key it ran with. */
  lineage: LineageEntry[]
  /** ISO time the run finished. */
  finishedAt: string
  /** Declared metrics files (paths from the pipeline folder) → their numbers: dotted key → number, null for NaN. */
  metrics: Record<string, Record<string, number | null>>
}

export const SHORT_ID_LENGTH = 7

export function shortId(record: RunRecord): string {
  return record.key.slice(0, SHORT_ID_LENGTH)
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `{train: {lr: 1}}` → `{'train.lr': 1}`; lists stay whole values. */
export function flattenParams(params: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const flat: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(params)) {
    const key = prefix === '' ? name : `${prefix}.${name}`
    if (isMapping(value)) Object.assign(flat, flattenParams(value, key))
    else flat[key] = value
  }
  return flat
}

/** The numbers of a metrics document by dotted key; lists (confusion matrices, per-class values) are left out. */
export function flattenMetrics(document: Record<string, unknown>, prefix = ''): Record<string, number | null> {
  const flat: Record<string, number | null> = {}
  for (const [name, value] of Object.entries(document)) {
    const key = prefix === '' ? name : `${prefix}.${name}`
    if (isMapping(value)) Object.assign(flat, flattenMetrics(value, key))
    else if (typeof value === 'number' || value === null) flat[key] = value
  }
  return flat
}

function upstreamClosure(instance: Instance): Instance[] {
  const seen = new Set<Instance>()
  const visit = (node: Instance) => {
    if (seen.has(node)) return
    seen.add(node)
    for (const parent of node.upstream) visit(parent)
  }
  visit(instance)
  return [...seen]
}

async function readMetricsFile(root: string, path: string): Promise<Record<string, number | null>> {
  let text: string
  try {
    text = await readFile(isAbsolute(path) ? path : join(root, path), 'utf8')
  } catch {
    throw new Error(`metrics file ${path} was not written (declared in metrics: of pipeline.yaml)`)
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new Error(`metrics file ${path} is not JSON: ${(error as Error).message}`)
  }
  if (!isMapping(document)) throw new Error(`metrics file ${path} must hold a JSON object`)
  return flattenMetrics(document)
}

/**
 * What a successful run of `instance` under `key` records; `keyOf` gives the keys its upstream instances ran with.
 * Throws, naming the file, when a declared metrics file is missing or not a JSON object.
 */
export async function describeRun(instance: Instance, key: string, root: string, keyOf: (id: string) => string, finishedAt = new Date().toISOString()): Promise<RunRecord> {
  const lineage = upstreamClosure(instance)
  const params: Record<string, unknown> = {}
  for (const node of [...lineage].reverse()) Object.assign(params, flattenParams(node.params))
  const metrics: RunRecord['metrics'] = {}
  for (const path of instance.metrics) metrics[path] = await readMetricsFile(root, path)
  return {
    key,
    instance: instance.id,
    stage: instance.stage.name,
    vars: instance.vars,
    params: Object.fromEntries(Object.entries(params).sort(([a], [b]) => a.localeCompare(b))),
    lineage: lineage.map((node) => ({id: node.id, stage: node.stage.name, key: node === instance ? key : keyOf(node.id)})).sort((a, b) => a.id.localeCompare(b.id)),
    finishedAt,
    metrics,
  }
}

/** The `records` section of the cache index: one RunRecord per key. */
export class RunRecords {
  private readonly db: Database<RunRecord, string>

  constructor(cache: Cache) {
    this.db = cache.section<RunRecord>('records')
  }

  get(key: string): RunRecord | undefined {
    return this.db.get(key)
  }

  async put(record: RunRecord): Promise<void> {
    await this.db.put(record.key, record)
  }

  async remove(key: string): Promise<void> {
    await this.db.remove(key)
  }

  /** Every record, oldest first. */
  all(): RunRecord[] {
    return [...this.db.getRange()].map(({value}) => value).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.key.localeCompare(b.key))
  }

  /** The record whose key starts with `id` (a short id or longer); an unknown or ambiguous id is an error. */
  find(id: string): RunRecord {
    if (!/^[0-9a-f]{4,64}$/.test(id)) throw new Error(`'${id}' is not a run id (4 to 64 hexadecimal characters, as seldpipe exp show lists them)`)
    const matches: RunRecord[] = []
    // Keys come in order from `id` on: the matches first.
    for (const {key, value} of this.db.getRange({start: id})) {
      if (!key.startsWith(id)) break
      matches.push(value)
    }
    if (matches.length === 0) throw new Error(`no recorded run ${id} (seldpipe exp show lists them)`)
    if (matches.length > 1) throw new Error(`run id ${id} is ambiguous: ${matches.map((record) => record.key.slice(0, 12)).join(', ')}`)
    return matches[0]
  }
}

/**
 * Every instance key the records reference (each record's lineage): a gc that keeps these keys' outs keeps what every
 * recorded result was made from, so `predict --model <id>` can restore it.
 */
export function referencedKeys(records: readonly RunRecord[]): Set<string> {
  return new Set(records.flatMap((record) => record.lineage.map((entry) => entry.key)))
}

/** The recorded runs as a reference source for gc: the keys, logs and instance records their lineages name. */
export function recordsReferenceSource(records: readonly RunRecord[]): {name: string; collect: () => Promise<{keys: Set<string>; instances: Set<string>}>} {
  return {
    name: 'recorded runs',
    collect: async () => ({keys: referencedKeys(records), instances: new Set(records.flatMap((record) => record.lineage.map((entry) => entry.id)))}),
  }
}

/**
 * The records to keep when only the newest `keep` results per cell are wanted: a cell is the stage and its matrix
 * variables (swept parameters excluded), so the variants of a sweep compete within their cell.
 */
export function newestPerCell(records: readonly RunRecord[], keep: number, isVariable: (key: string) => boolean): RunRecord[] {
  const cells = new Map<string, RunRecord[]>()
  for (const record of records) {
    const cell = `${record.stage}\0${JSON.stringify(Object.entries(record.vars).filter(([key]) => isVariable(key)))}`
    cells.set(cell, [...(cells.get(cell) ?? []), record])
  }
  return [...cells.values()].flatMap((group) => group.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt)).slice(0, keep))
}

/** The dotted keys (matrix variables and parameters) whose values are not the same in every record. */
export function differingKeys(records: readonly RunRecord[]): string[] {
  const keys = new Set(records.flatMap((record) => [...Object.keys(record.vars), ...Object.keys(record.params)]))
  return [...keys].filter((key) => new Set(records.map((record) => JSON.stringify(valueOf(record, key)) ?? '')).size > 1)
}

/** A matrix variable or parameter value of a record (matrix variables first, as they name the cell). */
export function valueOf(record: RunRecord, key: string): unknown {
  return Object.hasOwn(record.vars, key) && !isParamKey(key) ? record.vars[key] : record.params[key]
}

/** A metric of a record by dotted key, from whichever declared metrics file has it. */
export function metricOf(record: RunRecord, key: string): number | null | undefined {
  for (const numbers of Object.values(record.metrics)) if (Object.hasOwn(numbers, key)) return numbers[key]
  return undefined
}

/** The records of the project of `pipelineFile`, or undefined when it has no cache index yet (nothing ran). */
export function openProjectRecords(pipelineFile: string): {root: string; cache: Cache; records: RunRecords} | undefined {
  const file = resolve(pipelineFile)
  if (!existsSync(file)) throw new Error(`${file}: no such pipeline file (run in the project folder or pass --pipeline)`)
  const root = dirname(file)
  if (!existsSync(join(root, 'cache', 'index.lmdb'))) return undefined
  const cache = new Cache(join(root, 'cache'))
  return {root, cache, records: new RunRecords(cache)}
}

/** Opens the project's records, finds runs by id and closes the index after `body`; every problem goes to `fail`. */
export async function withRuns<T>(pipelineFile: string, ids: string[], fail: (message: string) => never, body: (runs: RunRecord[], cache: Cache, root: string) => T | Promise<T>): Promise<T> {
  let project
  try {
    project = openProjectRecords(pipelineFile)
  } catch (error) {
    fail((error as Error).message)
  }
  if (project === undefined) fail('no recorded runs yet: the project has no cache/ (run the pipeline first)')
  try {
    let runs: RunRecord[]
    try {
      runs = ids.map((id) => project.records.find(id))
    } catch (error) {
      fail((error as Error).message)
    }
    return await body(runs, project.cache, project.root)
  } finally {
    await project.cache.close()
  }
}

/**
 * The outs of the `stage` instance a recorded run was made from (e.g. the model behind an evaluate result), as
 * absolute paths on disk. An out whose place is empty is restored there from cache/objects; one whose place holds
 * another result is restored under cache/restored/<key>/ instead, leaving the work folder as it is.
 */
export async function recordedOuts(cache: Cache, root: string, record: RunRecord, stage: string): Promise<string[]> {
  const entry = record.lineage.find((candidate) => candidate.stage === stage)
  if (entry === undefined) throw new Error(`run ${shortId(record)} (${record.instance}) was not made by a ${stage} stage`)
  const keyRecord = cache.keyRecord(entry.key)
  if (keyRecord === undefined) throw new Error(`run ${shortId(record)}: the cache no longer knows the result of ${entry.id} it was made from`)
  // A private memo: reading must not write the index a run may be using.
  const hasher = new Hasher(new Map())
  const paths: string[] = []
  for (const out of keyRecord.outs) {
    const inPlace = isAbsolute(out.path) ? out.path : join(root, out.path)
    const onDisk = await hasher.hashPath(inPlace)
    if (onDisk?.hash === out.content.hash) {
      paths.push(inPlace)
      continue
    }
    if (!cache.hasObjects(out.content)) throw new Error(`run ${shortId(record)}: ${out.path} of ${entry.id} is neither in its folder nor in cache/objects`)
    const target = onDisk === undefined ? inPlace : join(cache.dir, 'restored', entry.key.slice(0, 12), out.path)
    await cache.restoreOut(target, out.content)
    paths.push(target)
  }
  return paths
}
