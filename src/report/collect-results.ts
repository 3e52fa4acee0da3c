import {existsSync, readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {formatReason, type Assessment} from '../pipeline/run/assess.js'
import type {Cache} from '../pipeline/state/cache.js'
import type {Graph, Instance} from '../pipeline/graph/graph.js'
import type {EvaluationReport} from '../seld/eval/report.js'
import {LOG_FILE, parseLog, type EpochRecord} from '../seld/train/training-log.js'

const METRICS_FILE = 'metrics.json'
/** The evaluate stage's picture of the learning curves: the report draws its own. */
const CURVES_PICTURE = 'training_curves.png'

/** The scores of one result, by the names the report's table shows; null where not computed or not a number. */
export const METRIC_COLUMNS = [
  {key: 'seldScore', title: 'SELD', lowerIsBetter: true},
  {key: 'er', title: 'ER', lowerIsBetter: true},
  {key: 'f1', title: 'F1', lowerIsBetter: false},
  {key: 'doaErrorDegrees', title: 'DOA error°', lowerIsBetter: true},
  {key: 'frameRecall', title: 'frame recall', lowerIsBetter: false},
  {key: 'er20', title: 'ER20°', lowerIsBetter: true},
  {key: 'f20', title: 'F20°', lowerIsBetter: false},
  {key: 'leCd', title: 'LE_CD°', lowerIsBetter: true},
  {key: 'lrCd', title: 'LR_CD', lowerIsBetter: false},
  {key: 'seldDcase', title: 'SELD (DCASE)', lowerIsBetter: true},
] as const

export type MetricKey = (typeof METRIC_COLUMNS)[number]['key']

/** One evaluated model: a cell of the matrix as it is on disk, or a recorded run. */
export interface ReportRun {
  /** Unique within the report, e.g. the evaluate instance id. */
  id: string
  /** The cache key of the evaluate run shown. */
  key: string
  /** Short name for legends, e.g. `synth-foa ov1 split1`. */
  label: string
  vars: Record<string, string>
  /** Whether the result on disk still matches the pipeline and its parameters ('up to date'), or what moved. */
  state: string
  reasons: string[]
  finishedAt: string | null
  metrics: Record<MetricKey, number | null>
  curve: EpochRecord[]
  /** Every parameter the result was made with (the cell's stages' recorded params, flattened to dotted keys), matrix values first. */
  params: Record<string, unknown>
  /** Per-recording pictures of the evaluate stage: reference against prediction, activity and DOA tracks. */
  figures: {name: string; pngBase64: string}[]
  evalDir: string
}

/** Nested sections become dotted keys (`model.rnn_units`); lists stay values. */
export function flattenParams(params: Record<string, unknown>, prefix = '', into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}.${key}` : key
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flattenParams(value as Record<string, unknown>, name, into)
    else into[name] = value
  }
  return into
}

/** A short name for a cell, e.g. `synth-foa ov1 split1 train.lr=0.001`: swept parameters (dotted) keep their name. */
function cellLabel(vars: Record<string, string>): string {
  return Object.entries(vars).map(([key, value]) => (key.includes('.') ? `${key}=${value}` : /^\d/.test(value) ? `${key}${value}` : value)).join(' ')
}

/** The instance and everything upstream of it, upstream first. */
function withUpstream(instance: Instance): Instance[] {
  const seen = new Map<string, Instance>()
  const visit = (node: Instance) => {
    if (seen.has(node.id)) return
    for (const parent of node.upstream) visit(parent)
    seen.set(node.id, node)
  }
  visit(instance)
  return [...seen.values()]
}

function parseMetrics(file: string, text: string): Record<MetricKey, number | null> {
  let report: EvaluationReport
  try {
    report = JSON.parse(text) as EvaluationReport
  } catch (error) {
    throw new Error(`${file}: not readable JSON (${(error as Error).message})`)
  }
  if (typeof report.seld2018 !== 'object' || report.seld2018 === null) throw new Error(`${file}: no seld2018 metrics`)
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null)
  const {seld2018, joint} = report
  return {
    seldScore: number(seld2018.seldScore), er: number(seld2018.er), f1: number(seld2018.f1),
    doaErrorDegrees: number(seld2018.doaErrorGtDegrees), frameRecall: number(seld2018.frameRecall),
    er20: number(joint?.er20), f20: number(joint?.f20), leCd: number(joint?.leCd), lrCd: number(joint?.lrCd), seldDcase: number(joint?.seldScore),
  }
}

/** A file inside the recorded outs of one instance run. */
interface RecordedFile {
  /** Path from the pipeline folder, e.g. `work/synth-foa/ov1_split1/eval/test_000.png`. */
  path: string
  read: () => Buffer
}

/**
 * The files of the outs recorded under `key` that `wanted` picks (by their path inside the out), read from the cache's
 * objects: what that very run wrote, whatever the work folders hold now. Where an object is gone, the file on disk
 * stands in when the disk still holds that run (`onDisk`).
 */
function recordedFiles(cache: Cache, root: string, key: string | undefined, onDisk: boolean, wanted: (inside: string) => boolean): RecordedFile[] {
  const record = key === undefined ? undefined : cache.keyRecord(key)
  if (!record) return []
  return record.outs.flatMap(({path, content}) => {
    const entries = content.type === 'file' ? [{path: '', hash: content.hash}] : content.entries
    return entries.filter((entry) => wanted(entry.path || basename(path))).map((entry) => {
      const file = entry.path ? join(path, entry.path) : path
      const object = cache.objectPath(entry.hash)
      return {path: file, read: () => readFileSync(existsSync(object) || !onDisk ? object : join(root, file))}
    })
  })
}

/** What one recorded evaluate run and the training run it scored wrote: its scores, its learning curve, its pictures. */
function readRecordedRun(cache: Cache, root: string, evaluate: {key: string; onDisk: boolean}, train: {key: string; onDisk: boolean} | undefined) {
  const [metricsFile] = recordedFiles(cache, root, evaluate.key, evaluate.onDisk, (inside) => basename(inside) === METRICS_FILE)
  if (metricsFile === undefined) return undefined
  const [logFile] = train ? recordedFiles(cache, root, train.key, train.onDisk, (inside) => basename(inside) === LOG_FILE) : []
  const figures = recordedFiles(cache, root, evaluate.key, evaluate.onDisk, (inside) => inside.endsWith('.png') && basename(inside) !== CURVES_PICTURE)
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((file) => ({name: basename(file.path, '.png'), pngBase64: file.read().toString('base64')}))
  return {
    metrics: parseMetrics(metricsFile.path, metricsFile.read().toString('utf8')),
    curve: logFile ? parseLog(logFile.path, logFile.read().toString('utf8')) : [],
    figures,
    evalDir: dirname(metricsFile.path),
  }
}

/**
 * The results of the graph's cells as the cache recorded them: every instance whose last recorded run wrote a
 * metrics.json is an evaluated cell; its learning curve is the log.jsonl of the upstream run it scored, its
 * parameters what the cache recorded for the cell's instances (what the result was made with, not what the parameter
 * files say now), and `state` says whether that result still matches the pipeline.
 */
export function collectCellResults(graph: Graph, cache: Cache, assessments: Map<string, Assessment>): ReportRun[] {
  const root = graph.pipeline.root
  const recorded = (id: string) => {
    const key = cache.instanceRecord(id)?.key
    return key === undefined ? undefined : {key, onDisk: true}
  }
  const runs: ReportRun[] = []
  for (const instance of graph.instances) {
    const evaluate = recorded(instance.id)
    if (!evaluate) continue
    const chain = withUpstream(instance)
    const train = chain.map((node) => recorded(node.id)).find((run) => run !== undefined && run.key !== evaluate.key && recordedFiles(cache, root, run.key, true, (inside) => basename(inside) === LOG_FILE).length > 0)
    const found = readRecordedRun(cache, root, evaluate, train)
    if (!found) continue
    const params: Record<string, unknown> = {...instance.vars}
    for (const node of chain) Object.assign(params, flattenParams(cache.instanceRecord(node.id)?.params ?? node.params))
    const assessment = assessments.get(instance.id)
    runs.push({
      id: instance.id,
      key: evaluate.key,
      label: cellLabel(instance.vars) || instance.id,
      vars: instance.vars,
      state: assessment?.state ?? 'unknown',
      reasons: (assessment?.reasons ?? []).map(formatReason),
      finishedAt: cache.keyRecord(evaluate.key)?.finishedAt ?? null,
      params,
      ...found,
    })
  }
  return runs
}

/** A recorded run of an instance, as the cache index keeps it (see the records of src/pipeline/state). */
export interface RecordedRun {
  key: string
  instance: string
  vars: Record<string, string>
  /** Dotted key → value, of the instance and everything upstream of it. */
  params: Record<string, unknown>
  /** The instance and its upstream instances, each with the key it ran with. */
  lineage: {id: string; stage: string; key: string}[]
  finishedAt: string
}

/** How many hexadecimal characters of a run's key name it in the report (as `seldpipe exp show` does). */
const RUN_ID_LENGTH = 7

/**
 * Every recorded run that wrote a metrics.json, newest first: the cells' current results and earlier runs (other
 * parameters, sweep variants). Its curve is the log.jsonl of the training run in its lineage, read from the cache.
 * `state` is the instance's assessment for the run the work folder holds now, and `earlier run` for the others.
 */
export function collectRecordedRuns(cache: Cache, root: string, records: readonly RecordedRun[], assessments: Map<string, Assessment>): ReportRun[] {
  const runs: ReportRun[] = []
  for (const record of [...records].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))) {
    const current = cache.instanceRecord(record.instance)?.key === record.key
    const others = record.lineage.filter((entry) => entry.key !== record.key)
    const train = others
      .map((entry) => ({key: entry.key, onDisk: cache.instanceRecord(entry.id)?.key === entry.key}))
      .find((run) => recordedFiles(cache, root, run.key, run.onDisk, (inside) => basename(inside) === LOG_FILE).length > 0)
    const found = readRecordedRun(cache, root, {key: record.key, onDisk: current}, train)
    if (!found) continue
    const assessment = current ? assessments.get(record.instance) : undefined
    runs.push({
      id: `${record.instance}#${record.key.slice(0, RUN_ID_LENGTH)}`,
      key: record.key,
      label: `${record.key.slice(0, RUN_ID_LENGTH)} ${cellLabel(record.vars)}`.trim(),
      vars: record.vars,
      state: assessment?.state ?? (current ? 'unknown' : 'earlier run'),
      reasons: (assessment?.reasons ?? []).map(formatReason),
      finishedAt: record.finishedAt,
      params: {...record.vars, ...record.params},
      ...found,
    })
  }
  return runs
}

/** The recorded runs, then the cells' results that no record holds (made before runs were recorded). */
export function withUnrecordedCells(recorded: ReportRun[], cells: ReportRun[]): ReportRun[] {
  const keys = new Set(recorded.map((run) => run.key))
  return [...recorded, ...cells.filter((run) => !keys.has(run.key))]
}

/** Keys whose values are not the same in every run. */
export function differingParams(runs: ReportRun[]): Set<string> {
  const keys = new Set(runs.flatMap((run) => Object.keys(run.params)))
  return new Set([...keys].filter((key) => new Set(runs.map((run) => JSON.stringify(run.params[key] ?? null))).size > 1))
}
