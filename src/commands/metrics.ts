import {Command, Flags} from '@oclif/core'
import {isParamKey} from '../pipeline/spec/pipeline-file.js'
import {openProjectRecords, shortId, type RunRecord} from '../pipeline/state/records.js'
import {variantFolder} from '../pipeline/graph/graph.js'
import {renderTable} from '../pipeline/run/text-table.js'

/** One evaluate result, or the mean over the splits of a (dataset, ov) pair. */
interface ResultRow {
  dataset: string
  ov: number
  /** The split, or every split averaged in a mean row. */
  split?: number
  splits?: number[]
  /** The swept parameter values of a parameter sweep's variant, as its folder is named (lr=0.001). */
  variant?: string
  /** The run's id in seldpipe exp show. */
  id?: string
  file?: string
  er: number | null
  f1: number | null
  doaErrorDegrees: number | null
  frameRecall: number | null
  seldScore: number | null
  joint?: {er20: number | null; f20: number | null; leCd: number | null; lrCd: number | null; seldScore: number | null}
}

export default class Metrics extends Command {
  static override description = `Table of the evaluate results of the project, one row per (dataset, ov, split) and swept variant, like the SELDnet paper's tables.

Reads the runs recorded in the cache index of the pipeline file's project: for each evaluate instance, its newest
result (seldpipe exp show lists them all). Where a (dataset, ov) pair has several splits, a mean row follows them. DOA
error is in degrees; ER20°, F20°, LE_CD, LR_CD are the DCASE joint metrics, shown when the evaluate stage computed them.`
  static override examples = ['<%= config.bin %> metrics', '<%= config.bin %> metrics --json --pipeline ../other/pipeline.yaml']
  static override enableJsonFlag = true
  static override flags = {
    pipeline: Flags.string({default: 'pipeline.yaml', description: 'pipeline file whose folder holds work/'}),
  }

  async run(): Promise<{results: ResultRow[]; means: ResultRow[]}> {
    const {flags} = await this.parse(Metrics)
    let project
    try {
      project = openProjectRecords(flags.pipeline)
    } catch (error) {
      this.error((error as Error).message, {exit: 2})
    }
    let results: ResultRow[] = []
    try {
      if (project !== undefined) results = recordedResults(project.records.all())
    } finally {
      await project?.cache.close()
    }
    const means = splitMeans(results)
    if (results.length === 0) this.log('No evaluate results recorded yet (run the pipeline first).')
    else this.log(formatTable(results, means))
    return {results, means}
  }
}

/** The newest recorded result of each instance whose metrics hold the SELDnet 2018 scores. */
function recordedResults(records: readonly RunRecord[]): ResultRow[] {
  const newest = new Map<string, RunRecord>()
  for (const record of records) newest.set(record.instance, record) // oldest first: the newest stays
  const rows: ResultRow[] = []
  for (const record of newest.values()) {
    const swept = Object.fromEntries(Object.entries(record.vars).filter(([key]) => isParamKey(key)))
    const sweptKeys = Object.keys(swept)
    for (const [file, numbers] of Object.entries(record.metrics)) {
      if (!Object.hasOwn(numbers, 'seld2018.seldScore')) continue
      const score = (key: string) => numbers[key] ?? null
      const row: ResultRow = {
        dataset: record.vars.dataset ?? '', ov: Number(record.vars.ov), split: Number(record.vars.split),
        ...(sweptKeys.length > 0 ? {variant: variantFolder(swept, sweptKeys)} : {}),
        id: shortId(record), file,
        er: score('seld2018.er'), f1: score('seld2018.f1'), doaErrorDegrees: score('seld2018.doaErrorGtDegrees'),
        frameRecall: score('seld2018.frameRecall'), seldScore: score('seld2018.seldScore'),
      }
      if (Object.hasOwn(numbers, 'joint.er20')) {
        row.joint = {er20: score('joint.er20'), f20: score('joint.f20'), leCd: score('joint.leCd'), lrCd: score('joint.lrCd'), seldScore: score('joint.seldScore')}
      }
      rows.push(row)
    }
  }
  return rows.sort((a, b) => a.dataset.localeCompare(b.dataset) || a.ov - b.ov || (a.variant ?? '').localeCompare(b.variant ?? '') || (a.split ?? 0) - (b.split ?? 0))
}

/** Mean rows for every (dataset, ov) with more than one split; a mean is null when any split's value is. */
function splitMeans(rows: ResultRow[]): ResultRow[] {
  const groups = new Map<string, ResultRow[]>()
  for (const row of rows) {
    const key = `${row.dataset}\0${row.ov}\0${row.variant ?? ''}`
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const mean = (values: (number | null | undefined)[]) =>
    values.some((v) => v === null || v === undefined) ? null : values.reduce((a: number, b) => a + (b as number), 0) / values.length
  const means: ResultRow[] = []
  for (const group of groups.values()) {
    if (group.length < 2) continue
    const row: ResultRow = {
      dataset: group[0].dataset, ov: group[0].ov, splits: group.map((r) => r.split as number), ...(group[0].variant === undefined ? {} : {variant: group[0].variant}),
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
  const withVariant = results.some((r) => r.variant !== undefined)
  const header = ['dataset', 'ov', 'split', ...(withVariant ? ['variant'] : []), 'ER', 'F1', 'DOA err°', 'frame recall', 'SELD']
  if (withJoint) header.push('ER20°', 'F20°', 'LE_CD°', 'LR_CD', 'SELD (DCASE)')
  header.push('run')
  const value = (v: number | null | undefined, digits = 3) => (v === undefined ? '' : v === null ? 'n/a' : v.toFixed(digits))
  const cells = (row: ResultRow) => {
    const line = [row.dataset, `ov${row.ov}`, row.split !== undefined ? String(row.split) : 'mean', ...(withVariant ? [row.variant ?? ''] : []),
      value(row.er), value(row.f1), value(row.doaErrorDegrees, 1), value(row.frameRecall), value(row.seldScore)]
    if (withJoint) {
      const j = row.joint
      line.push(value(j?.er20), value(j?.f20), value(j?.leCd, 1), value(j?.lrCd), value(j?.seldScore))
    }
    line.push(row.id ?? '')
    return line
  }
  // Each mean row follows the last split of its (dataset, ov, variant).
  const sameGroup = (a: ResultRow, b: ResultRow) => a.dataset === b.dataset && a.ov === b.ov && a.variant === b.variant
  const ordered: string[][] = []
  results.forEach((row, i) => {
    ordered.push(cells(row))
    const next = results[i + 1]
    if (next && sameGroup(next, row)) return
    const mean = means.find((m) => sameGroup(m, row))
    if (mean) ordered.push(cells(mean))
  })
  return renderTable(header, ordered, withVariant ? 4 : 3)
}
