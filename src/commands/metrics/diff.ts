import {Args, Command, Flags} from '@oclif/core'
import {metricOf, shortId, withRuns} from '../../pipeline/state/records.js'
import {formatNumber, renderTable} from '../../pipeline/run/text-table.js'
import {HEADLINE_METRICS} from '../../seld/eval/report.js'

export default class MetricsDiff extends Command {
  static override description = `The scores of two recorded runs side by side, with the change from the first to the second.

By default the headline scores (SELDnet 2018 and DCASE joint); --all compares every number of the metrics files.`
  static override examples = ['<%= config.bin %> metrics diff 3f2a9c1 b71e004', '<%= config.bin %> metrics diff 3f2a9c1 b71e004 --all --json']
  static override args = {
    a: Args.string({description: 'a run id (from seldpipe exp show)', required: true}),
    b: Args.string({description: 'another run id', required: true}),
  }
  static override flags = {
    pipeline: Flags.string({default: 'pipeline.yaml', description: 'the pipeline file; its folder holds cache/', helpValue: 'PATH'}),
    all: Flags.boolean({description: 'every number of the metrics files, by dotted key'}),
    json: Flags.boolean({description: 'print {a, b, metrics: {name: {a, b, change}}} as JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(MetricsDiff)
    const fail = (message: string): never => this.error(message, {exit: 2})
    await withRuns(flags.pipeline, [args.a, args.b], fail, ([a, b]) => {
      for (const run of [a, b]) if (Object.keys(run.metrics).length === 0) fail(`run ${shortId(run)} (${run.instance}) has no metrics: its stage declares no metrics files`)
      const allKeys = [...new Set([a, b].flatMap((run) => Object.values(run.metrics).flatMap((numbers) => Object.keys(numbers))))].sort()
      const compared = flags.all
        ? allKeys.map((key) => ({name: key, label: key, key, digits: 4}))
        : HEADLINE_METRICS.filter((metric) => metricOf(a, metric.key) !== undefined || metricOf(b, metric.key) !== undefined)
      const rows = compared.map((metric) => {
        const [x, y] = [metricOf(a, metric.key), metricOf(b, metric.key)]
        return {metric, a: x ?? null, b: y ?? null, change: typeof x === 'number' && typeof y === 'number' ? y - x : null}
      })
      if (flags.json) {
        this.log(JSON.stringify({a: shortId(a), b: shortId(b), metrics: Object.fromEntries(rows.map((row) => [row.metric.name, {a: row.a, b: row.b, change: row.change}]))}, null, 2))
        return
      }
      this.log(`${shortId(a)}: ${a.instance}\n${shortId(b)}: ${b.instance}\n`)
      const signed = (value: number | null, digits: number) => (value === null ? '' : `${value > 0 ? '+' : ''}${value.toFixed(digits)}`)
      this.log(renderTable(['metric', shortId(a), shortId(b), 'change'], rows.map((row) => [row.metric.label, formatNumber(row.a, row.metric.digits), formatNumber(row.b, row.metric.digits), signed(row.change, row.metric.digits)]), 1))
    })
  }
}
