import {Args, Command, Flags} from '@oclif/core'
import {shortId, valueOf, withRuns} from '../../pipeline/state/records.js'
import {formatValue, renderTable} from '../../pipeline/run/text-table.js'

export default class ParamsDiff extends Command {
  static override description = `The parameters (and matrix values) two recorded runs differ in, by the short ids of seldpipe exp show.

Parameters are every value the run and its upstream stages read, by dotted key; --all lists the equal ones too.`
  static override examples = ['<%= config.bin %> params diff 3f2a9c1 b71e004', '<%= config.bin %> params diff 3f2a9c1 b71e004 --all --json']
  static override args = {
    a: Args.string({description: 'a run id (from seldpipe exp show)', required: true}),
    b: Args.string({description: 'another run id', required: true}),
  }
  static override flags = {
    pipeline: Flags.string({default: 'pipeline.yaml', description: 'the pipeline file; its folder holds cache/', helpValue: 'PATH'}),
    all: Flags.boolean({description: 'list equal parameters too'}),
    json: Flags.boolean({description: 'print {a, b, params: {key: {a, b}}} as JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ParamsDiff)
    const fail = (message: string): never => this.error(message, {exit: 2})
    await withRuns(flags.pipeline, [args.a, args.b], fail, ([a, b]) => {
      const keys = [...new Set([...Object.keys(a.vars), ...Object.keys(a.params), ...Object.keys(b.vars), ...Object.keys(b.params)])].sort()
      const changed = keys.filter((key) => flags.all || JSON.stringify(valueOf(a, key)) !== JSON.stringify(valueOf(b, key)))
      if (flags.json) {
        const params = Object.fromEntries(changed.map((key) => [key, {a: valueOf(a, key) ?? null, b: valueOf(b, key) ?? null}]))
        this.log(JSON.stringify({a: shortId(a), b: shortId(b), params}, null, 2))
        return
      }
      this.log(`${shortId(a)}: ${a.instance}\n${shortId(b)}: ${b.instance}\n`)
      if (changed.length === 0) this.log('Same parameters.')
      else this.log(renderTable(['param', shortId(a), shortId(b)], changed.map((key) => [key, formatValue(valueOf(a, key)), formatValue(valueOf(b, key))]), 1))
    })
  }
}
