import {Command, Flags} from '@oclif/core'
import {loadGraph, pipelineFlags, reportingPipelineErrors} from '../pipeline/spec/command-flags.js'

export default class Dag extends Command {
  static override description = 'Show the expanded graph of stage instances, upstream before downstream.'
  static override examples = ['<%= config.bin %> dag', '<%= config.bin %> dag --matrix ov=1,2 --dot | dot -Tsvg > dag.svg']
  static override flags = {
    ...pipelineFlags,
    dot: Flags.boolean({description: 'print Graphviz dot instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Dag)
    const graph = await reportingPipelineErrors(this.error.bind(this), () => loadGraph(flags))
    if (flags.dot) {
      const quote = (text: string) => JSON.stringify(text)
      this.log('digraph seldpipe {')
      this.log('  rankdir=LR;')
      this.log('  node [shape=box];')
      for (const instance of graph.instances) this.log(`  ${quote(instance.id)};`)
      for (const instance of graph.instances) for (const parent of instance.upstream) this.log(`  ${quote(parent.id)} -> ${quote(instance.id)};`)
      this.log('}')
      return
    }
    for (const instance of graph.instances) {
      this.log(instance.id)
      for (const parent of instance.upstream) this.log(`  <- ${parent.id}`)
    }
    this.log(`${graph.instances.length} instances`)
  }
}
