import {join} from 'node:path'
import {Flags} from '@oclif/core'
import {Cache} from '../state/cache.js'
import {CacheIndexError} from '../state/index-file.js'
import {PipelineError} from './errors.js'
import {buildGraph, type Graph} from '../graph/graph.js'
import {loadPipeline} from './pipeline-file.js'

/** Flags every pipeline command takes: which pipeline, which sweep, which parameter overrides. */
export const pipelineFlags = {
  pipeline: Flags.string({description: 'the pipeline file; relative paths resolve against its folder, where cache/ lives', default: 'pipeline.yaml', helpValue: 'PATH'}),
  matrix: Flags.string({
    description: 'replace the default values of a matrix key (cartesian product), e.g. --matrix dataset=ansim,resim ov=1,2,3',
    multiple: true,
    helpValue: 'KEY=V1,V2',
  }),
  params: Flags.string({
    description: 'a params file layered over the pipeline\'s own (later wins), e.g. a preset: --params params/ansim.yaml',
    multiple: true,
    helpValue: 'FILE',
  }),
  set: Flags.string({description: 'override a parameter for this invocation (part of the hash), e.g. --set train.epochs=5', multiple: true, helpValue: 'KEY=VALUE'}),
}

export interface PipelineFlagValues {
  pipeline: string
  matrix?: string[]
  set?: string[]
  params?: string[]
}

export async function loadGraph(flags: PipelineFlagValues): Promise<Graph> {
  const pipeline = await loadPipeline(flags.pipeline, {matrix: flags.matrix, set: flags.set, params: flags.params})
  return buildGraph(pipeline)
}

export function openCache(graph: Graph): Cache {
  return new Cache(join(graph.pipeline.root, 'cache'))
}

/**
 * Runs a command body, turning pipeline/params/flag problems into one message and exit code 2, and a damaged cache
 * index into one message and exit code 1.
 */
export async function reportingPipelineErrors<T>(fail: (message: string, options: {exit: number}) => never, body: () => Promise<T>): Promise<T> {
  try {
    return await body()
  } catch (error) {
    if (error instanceof PipelineError) fail(error.message, {exit: 2})
    if (error instanceof CacheIndexError) fail(error.message, {exit: 1})
    throw error
  }
}
