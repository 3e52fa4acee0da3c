import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {buildGraph} from '../../src/pipeline/graph/graph.js'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {CodeClosures, nodeScriptOf, type CodeKey} from '../../src/pipeline/state/code-closure.js'
import type {MemoEntry} from '../../src/pipeline/state/hash.js'
import {ensureBuilt, repoRoot} from './cli.js'

// Each stage of the repository's pipeline, with the code its key covers (derived from the built dist/ imports).
const closures = new Map<string, CodeKey>()

beforeAll(async () => {
  await ensureBuilt()
  const graph = buildGraph(await loadPipeline(join(repoRoot, 'pipeline.yaml')))
  const memo = new Map<string, MemoEntry>()
  const code = new CodeClosures(repoRoot, {get: (path) => memo.get(path), set: (path, entry) => void memo.set(path, entry)})
  for (const instance of graph.instances) {
    const script = nodeScriptOf(instance.argv)
    if (script === undefined) throw new Error(`${instance.stage.name} is not a node script`)
    const key = await code.of(script)
    if (key === undefined) throw new Error(`${script} is not built`)
    closures.set(instance.stage.name, key)
  }
  for (const [stage, key] of closures) console.log(`${stage}:\n  ${[...Object.keys(key.modules), ...Object.entries(key.packages).map(([name, version]) => `${name}@${version}`)].join('\n  ')}`)
}, 120_000)

const modulesOf = (stage: string) => Object.keys(closures.get(stage)!.modules)

describe('the code each stage of pipeline.yaml loads', () => {
  it('covers the stage script, the shared stage helpers and the cores it runs', () => {
    for (const [stage, key] of closures) {
      expect(key.modules, stage).toHaveProperty([`dist/stages/${stage}.js`])
      expect(key.modules, stage).toHaveProperty(['dist/stages/stage.js'])
    }
    expect(modulesOf('train')).toContain('dist/src/seld/model/bn-statistics.js')
    expect(modulesOf('features')).toContain('dist/src/seld/features/features-worker.js')
    expect(closures.get('train')!.packages).toHaveProperty(['@tensorflow/tfjs'])
  })

  it('keeps each stage to what it runs: no plotting or prediction in train, no training or feature extraction in evaluate', () => {
    const forbidden: Record<string, RegExp[]> = {
      synth: [/src\/seld\/(model|train|eval|plots|predict)\//],
      unzip: [/src\/seld\/(synth|model|train|eval|plots|predict)\//],
      labels: [/src\/seld\/(synth|model|train|eval|plots|predict)\//],
      features: [/src\/seld\/(synth|model|train|eval|plots|predict)\//],
      normalize: [/src\/seld\/(synth|model|train|eval|plots|predict)\//],
      train: [/src\/seld\/plots\//, /src\/seld\/predict\//, /features\/(features|features-worker)\.js$/],
      evaluate: [/train\/training\.js$/, /model\/bn-statistics\.js$/, /features\/(features|features-worker)\.js$/, /src\/seld\/predict\//],
    }
    for (const [stage, patterns] of Object.entries(forbidden)) {
      for (const pattern of patterns) expect(modulesOf(stage).filter((path) => pattern.test(path)), `${stage} loads ${pattern}`).toEqual([])
    }
  })

  it('leaves out modules no stage loads: the commands, and the engine but for the progress protocol, params checks and cache key variable', () => {
    const engineModulesStagesRun = [
      'dist/src/pipeline/run/stage-progress.js',
      'dist/src/pipeline/spec/params-schema.js',
      'dist/src/pipeline/spec/errors.js',
      'dist/src/pipeline/executors/cache-key-env.js',
    ]
    for (const stage of closures.keys()) {
      const outside = modulesOf(stage).filter((path) => path.startsWith('dist/src/commands/') || (path.startsWith('dist/src/pipeline/') && !engineModulesStagesRun.includes(path)))
      expect(outside, stage).toEqual([])
    }
  })
})
