import {Flags} from '@oclif/core'
import {JsonCommand} from '../cli/json-command.js'
import {loadGraph, pipelineFlags, reportingPipelineErrors} from '../pipeline/spec/command-flags.js'

interface DagNode {
  id: string
  stage: string
  vars: Record<string, string>
  upstream: string[]
  argv: string[]
  deps: string[]
  outs: string[]
  params: Record<string, unknown>
}

export default class Dag extends JsonCommand {
  static override description = `Show the expanded graph of stage instances, upstream before downstream.

With --json: an array of one object per instance (id, stage, vars, upstream ids, argv, deps, outs, params).`
  static override examples = ['<%= config.bin %> dag', '<%= config.bin %> dag --matrix ov=1,2 --dot | dot -Tsvg > dag.svg', '<%= config.bin %> dag --json']
  static override flags = {
    ...pipelineFlags,
    dot: Flags.boolean({description: 'print Graphviz dot instead of text', exclusive: ['json']}),
  }

  async run(): Promise<DagNode[]> {
    const {flags} = await this.parse(Dag)
    const graph = await reportingPipelineErrors(this.error.bind(this), () => loadGraph(flags))
    const nodes = graph.instances.map((instance): DagNode => ({
      id: instance.id, stage: instance.stage.name, vars: instance.vars, upstream: instance.upstream.map((parent) => parent.id),
      argv: instance.argv, deps: instance.deps, outs: instance.outs, params: instance.params,
    }))
    if (flags.dot) {
      const quote = (text: string) => JSON.stringify(text)
      this.log('digraph seldpipe {')
      this.log('  rankdir=LR;')
      this.log('  node [shape=box];')
      for (const instance of graph.instances) this.log(`  ${quote(instance.id)};`)
      for (const instance of graph.instances) for (const parent of instance.upstream) this.log(`  ${quote(parent.id)} -> ${quote(instance.id)};`)
      this.log('}')
      return nodes
    }
    for (const instance of graph.instances) {
      this.log(instance.id)
      for (const parent of instance.upstream) this.log(`  <- ${parent.id}`)
    }
    this.log(`${graph.instances.length} instances`)
    return nodes
  }
}
