import {Command, Flags} from '@oclif/core'
import {parseParamValue} from '../../pipeline/spec/pipeline-file.js'
import {differingKeys, metricOf, openProjectRecords, shortId, valueOf, type RunRecord} from '../../pipeline/state/records.js'
import {formatNumber, formatValue, renderTable} from '../../pipeline/run/text-table.js'
import {HEADLINE_METRICS, type HeadlineMetric} from '../../seld/eval/report.js'

/** One row of `exp show --json`. */
export interface ExperimentRow {
  id: string
  key: string
  instance: string
  finishedAt: string
  vars: Record<string, string>
  /** Every parameter the result was made with (dotted keys). */
  params: Record<string, unknown>
  /** The headline scores by name (er, f1, doa_error, frame_recall, seld, er20, f20, le_cd, lr_cd, seld_dcase). */
  metrics: Record<string, number | null>
}

function matchesFilter(record: RunRecord, filters: readonly string[]): boolean {
  return filters.every((item) => {
    const at = item.indexOf('=')
    const key = item.slice(0, at)
    const value = valueOf(record, key)
    return item.slice(at + 1).split(',').some((text) => text === String(value) || JSON.stringify(parseParamValue(text)) === JSON.stringify(value))
  })
}

/** The metric --sort-by names: a headline metric by name or label, or any dotted key of the metrics files. */
function sortMetric(name: string, records: readonly RunRecord[]): HeadlineMetric | undefined {
  const headline = HEADLINE_METRICS.find((metric) => [metric.name, metric.label.toLowerCase(), metric.key].includes(name.toLowerCase()) || metric.key === name)
  if (headline !== undefined) return headline
  if (records.some((record) => metricOf(record, name) !== undefined)) return {name, label: name, key: name, better: 'lower', digits: 3}
  return undefined
}

export default class ExpShow extends Command {
  static override description = `Every recorded result, one row per run of a stage that declares metrics (evaluate): across cells, swept parameters and --set runs.

Columns: a short id per row (for params diff, metrics diff and predict --model), the matrix values and parameters that
differ between the rows shown, and the headline scores (SELDnet 2018: ER, F1, DOA error, frame recall, SELD score;
DCASE joint: ER20°, F20°, LE_CD, LR_CD, SELD score). --sort-by puts the best first (lowest error, highest F1).`
  static override examples = [
    '<%= config.bin %> exp show',
    '<%= config.bin %> exp show --sort-by seld',
    '<%= config.bin %> exp show --matrix dataset=synth-foa train.lr=0.001,0.002 --json',
  ]
  static override flags = {
    pipeline: Flags.string({default: 'pipeline.yaml', description: 'the pipeline file; its folder holds cache/', helpValue: 'PATH'}),
    json: Flags.boolean({description: 'print the rows as JSON'}),
    'sort-by': Flags.string({description: `a metric, best first: ${HEADLINE_METRICS.map((metric) => metric.name).join(', ')}, or a dotted key of the metrics files (ascending)`, helpValue: 'METRIC'}),
    matrix: Flags.string({description: 'only rows with these values, e.g. --matrix dataset=ansim train.lr=0.001,0.002', multiple: true, helpValue: 'KEY=V1,V2'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ExpShow)
    for (const item of flags.matrix ?? []) if (item.indexOf('=') <= 0) this.error(`--matrix ${item}: expected key=value`, {exit: 2})
    let project
    try {
      project = openProjectRecords(flags.pipeline)
    } catch (error) {
      this.error((error as Error).message, {exit: 2})
    }
    let records: RunRecord[] = []
    try {
      records = project?.records.all().filter((record) => Object.keys(record.metrics).length > 0 && matchesFilter(record, flags.matrix ?? [])) ?? []
    } finally {
      await project?.cache.close()
    }
    if (flags['sort-by'] !== undefined) {
      const metric = sortMetric(flags['sort-by'], records)
      if (metric === undefined) this.error(`--sort-by ${flags['sort-by']}: no such metric (${HEADLINE_METRICS.map((headline) => headline.name).join(', ')}, or a dotted key of the metrics files)`, {exit: 2})
      const sign = metric.better === 'lower' ? 1 : -1
      const score = (record: RunRecord) => metricOf(record, metric.key)
      records = [...records].sort((a, b) => {
        const [x, y] = [score(a), score(b)]
        if (typeof x !== 'number' || typeof y !== 'number') return (typeof x === 'number' ? 0 : 1) - (typeof y === 'number' ? 0 : 1)
        return sign * (x - y)
      })
    }
    const rows: ExperimentRow[] = records.map((record) => ({
      id: shortId(record),
      key: record.key,
      instance: record.instance,
      finishedAt: record.finishedAt,
      vars: record.vars,
      params: record.params,
      metrics: Object.fromEntries(HEADLINE_METRICS.flatMap((metric) => {
        const value = metricOf(record, metric.key)
        return value === undefined ? [] : [[metric.name, value]]
      })),
    }))
    const differing = differingKeys(records)
    if (flags.json) {
      this.log(JSON.stringify({differing, rows}, null, 2))
      return
    }
    if (rows.length === 0) {
      this.log('No recorded results yet (seldpipe run records every evaluate result).')
      return
    }
    const metrics = HEADLINE_METRICS.filter((metric) => rows.some((row) => Object.hasOwn(row.metrics, metric.name)))
    const header = ['id', ...differing, ...metrics.map((metric) => metric.label), 'finished']
    const cells = records.map((record, index) => [
      rows[index].id,
      ...differing.map((key) => formatValue(valueOf(record, key))),
      ...metrics.map((metric) => formatNumber(rows[index].metrics[metric.name], metric.digits)),
      record.finishedAt.slice(0, 16).replace('T', ' '),
    ])
    this.log(renderTable(header, cells, 1 + differing.length))
  }
}
