import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {Flags} from '@oclif/core'
import {JsonCommand} from '../cli/json-command.js'
import type {EvaluationReport} from '../seld/eval/report.js'

/** One evaluate result, or the mean over the splits of a (dataset, ov) pair. */
interface ResultRow {
  dataset: string
  ov: number
  /** The split, or every split averaged in a mean row. */
  split?: number
  splits?: number[]
  file?: string
  er: number | null
  f1: number | null
  doaErrorDegrees: number | null
  frameRecall: number | null
  seldScore: number | null
  joint?: {er20: number | null; f20: number | null; leCd: number | null; lrCd: number | null; seldScore: number | null}
}

const CELL_FOLDER = /^ov(\d+)_split(\d+)$/

export default class Metrics extends JsonCommand {
  static override description = `Table of every evaluate result of the project, one row per (dataset, ov, split), like the SELDnet paper's tables.

Reads work/<dataset>/ov<ov>_split<split>/eval/metrics.json under the folder of the pipeline file. Where a (dataset, ov)
pair has several splits, a mean row follows them. DOA error is in degrees; ER20°, F20°, LE_CD, LR_CD are the DCASE joint
metrics, shown when the evaluate stage computed them.`
  static override examples = ['<%= config.bin %> metrics', '<%= config.bin %> metrics --json --pipeline ../other/pipeline.yaml']
  static override flags = {
    pipeline: Flags.string({default: 'pipeline.yaml', description: 'pipeline file whose folder holds work/'}),
  }

  async run(): Promise<{results: ResultRow[]; means: ResultRow[]}> {
    const {flags} = await this.parse(Metrics)
    const pipelineFile = path.resolve(flags.pipeline)
    if (!existsSync(pipelineFile)) this.error(`${pipelineFile}: no such pipeline file (run in the project folder or pass --pipeline)`, {exit: 2})
    const root = path.dirname(pipelineFile)
    let results: ResultRow[]
    try {
      results = findResults(root)
    } catch (error) {
      this.error((error as Error).message, {exit: 2})
    }
    const means = splitMeans(results)
    if (results.length === 0) this.log(`No evaluate results yet under ${path.join(root, 'work')} (run the pipeline first).`)
    else this.log(formatTable(results, means))
    return {results, means}
  }
}

function findResults(root: string): ResultRow[] {
  const work = path.join(root, 'work')
  if (!existsSync(work)) return []
  const rows: ResultRow[] = []
  for (const dataset of readdirSync(work, {withFileTypes: true})) {
    if (!dataset.isDirectory()) continue
    for (const cell of readdirSync(path.join(work, dataset.name), {withFileTypes: true})) {
      const match = cell.isDirectory() ? CELL_FOLDER.exec(cell.name) : null
      const file = path.join(work, dataset.name, cell.name, 'eval', 'metrics.json')
      if (!match || !existsSync(file)) continue
      rows.push({dataset: dataset.name, ov: Number(match[1]), split: Number(match[2]), file: path.relative(root, file), ...readReport(file)})
    }
  }
  return rows.sort((a, b) => a.dataset.localeCompare(b.dataset) || a.ov - b.ov || (a.split ?? 0) - (b.split ?? 0))
}

type Scores = Pick<ResultRow, 'er' | 'f1' | 'doaErrorDegrees' | 'frameRecall' | 'seldScore' | 'joint'>

/** Reads the scores of one metrics.json; NaN and infinite scores arrive as null (JSON has no NaN). */
function readReport(file: string): Scores {
  let report: EvaluationReport
  try {
    report = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new Error(`${file}: not readable JSON (${(error as Error).message})`)
  }
  const score = (object: unknown, key: string, where: string): number | null => {
    const value = (object as Record<string, unknown> | undefined)?.[key]
    if (value === null || typeof value === 'number') return value
    throw new Error(`${file}: ${where}.${key} is missing or not a number`)
  }
  const {seld2018, joint} = report
  if (typeof seld2018 !== 'object' || seld2018 === null) throw new Error(`${file}: no seld2018 metrics`)
  const scores: Scores = {
    er: score(seld2018, 'er', 'seld2018'), f1: score(seld2018, 'f1', 'seld2018'),
    doaErrorDegrees: score(seld2018, 'doaErrorGtDegrees', 'seld2018'), frameRecall: score(seld2018, 'frameRecall', 'seld2018'),
    seldScore: score(seld2018, 'seldScore', 'seld2018'),
  }
  if (joint !== undefined) {
    scores.joint = {
      er20: score(joint, 'er20', 'joint'), f20: score(joint, 'f20', 'joint'), leCd: score(joint, 'leCd', 'joint'),
      lrCd: score(joint, 'lrCd', 'joint'), seldScore: score(joint, 'seldScore', 'joint'),
    }
  }
  return scores
}

/** Mean rows for every (dataset, ov) with more than one split; a mean is null when any split's value is. */
function splitMeans(rows: ResultRow[]): ResultRow[] {
  const groups = new Map<string, ResultRow[]>()
  for (const row of rows) {
    const key = `${row.dataset}\0${row.ov}`
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const mean = (values: (number | null | undefined)[]) =>
    values.some((v) => v === null || v === undefined) ? null : values.reduce((a: number, b) => a + (b as number), 0) / values.length
  const means: ResultRow[] = []
  for (const group of groups.values()) {
    if (group.length < 2) continue
    const row: ResultRow = {
      dataset: group[0].dataset, ov: group[0].ov, splits: group.map((r) => r.split as number),
      er: mean(group.map((r) => r.er)), f1: mean(group.map((r) => r.f1)), doaErrorDegrees: mean(group.map((r) => r.doaErrorDegrees)),
      frameRecall: mean(group.map((r) => r.frameRecall)), seldScore: mean(group.map((r) => r.seldScore)),
    }
    if (group.every((r) => r.joint)) {
      const joints = group.map((r) => r.joint!)
      row.joint = {
        er20: mean(joints.map((j) => j.er20)), f20: mean(joints.map((j) => j.f20)), leCd: mean(joints.map((j) => j.leCd)),
        lrCd: mean(joints.map((j) => j.lrCd)), seldScore: mean(joints.map((j) => j.seldScore)),
      }
    }
    means.push(row)
  }
  return means
}

function formatTable(results: ResultRow[], means: ResultRow[]): string {
  const withJoint = results.some((r) => r.joint)
  const header = ['dataset', 'ov', 'split', 'ER', 'F1', 'DOA err°', 'frame recall', 'SELD']
  if (withJoint) header.push('ER20°', 'F20°', 'LE_CD°', 'LR_CD', 'SELD (DCASE)')
  const value = (v: number | null | undefined, digits = 3) => (v === undefined ? '' : v === null ? 'n/a' : v.toFixed(digits))
  const cells = (row: ResultRow) => {
    const line = [row.dataset, `ov${row.ov}`, row.split !== undefined ? String(row.split) : 'mean',
      value(row.er), value(row.f1), value(row.doaErrorDegrees, 1), value(row.frameRecall), value(row.seldScore)]
    if (withJoint) {
      const j = row.joint
      line.push(value(j?.er20), value(j?.f20), value(j?.leCd, 1), value(j?.lrCd), value(j?.seldScore))
    }
    return line
  }
  // Each mean row follows the last split of its (dataset, ov).
  const ordered: string[][] = []
  results.forEach((row, i) => {
    ordered.push(cells(row))
    const next = results[i + 1]
    if (next && next.dataset === row.dataset && next.ov === row.ov) return
    const mean = means.find((m) => m.dataset === row.dataset && m.ov === row.ov)
    if (mean) ordered.push(cells(mean))
  })
  const widths = header.map((title, c) => Math.max(title.length, ...ordered.map((line) => line[c].length)))
  const render = (line: string[]) => line.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...ordered.map(render)].join('\n')
}
