import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {assessGraph} from '../src/pipeline/run/assess.js'
import {Cache} from '../src/pipeline/state/cache.js'
import {runGraph} from '../src/pipeline/run/engine.js'
import {buildGraph} from '../src/pipeline/graph/graph.js'
import {LocalExecutor} from '../src/pipeline/executors/local.js'
import {PlainReporter} from '../src/pipeline/run/progress.js'
import {loadPipeline} from '../src/pipeline/spec/pipeline-file.js'

// `seldpipe status` on 270 instances (10 datasets x 3 ov x 3 splits x 3 stages) over ~2 GB of inputs: cold (nothing
// memoised, every input read) and warm (unchanged inputs after a run: answered from the LMDB memo). Target: warm < 1 s.
// The stages are node scripts, so every key also covers a code closure (40 modules) derived from the imports.
const DATASETS = 10
const INPUT_BYTES = 2 * 1024 ** 3
const CHUNK = 1024 ** 2
const TARGET_WARM_SECONDS = 1

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const datasets = Array.from({length: DATASETS}, (_, index) => `d${index}`)
const pipelineText = `version: 1
matrix:
  ds: [${datasets.join(', ')}]
  ov: [1, 2, 3]
  split: [1, 2, 3]
stages:
  first:
    cmd: node scripts/stage.mjs work/\${ds}/ov\${ov}_split\${split}/first
    deps: ["data/\${ds}/ov\${ov}_split\${split}.bin"]
    outs: ["work/\${ds}/ov\${ov}_split\${split}/first"]
  second:
    cmd: node scripts/stage.mjs work/\${ds}/ov\${ov}_split\${split}/second
    deps: ["work/\${ds}/ov\${ov}_split\${split}/first"]
    outs: ["work/\${ds}/ov\${ov}_split\${split}/second"]
  third:
    cmd: node scripts/stage.mjs work/\${ds}/ov\${ov}_split\${split}/third
    deps: ["work/\${ds}/ov\${ov}_split\${split}/second"]
    outs: ["work/\${ds}/ov\${ov}_split\${split}/third"]
`

/** A stage script importing a chain of modules, as the SELD stages import their cores. */
function writeStageCode(dir: string): void {
  const MODULES = 40
  mkdirSync(join(dir, 'scripts', 'lib'), {recursive: true})
  for (let index = 0; index < MODULES; index++) {
    const next = index + 1 < MODULES ? `import './m${index + 1}.mjs'\n` : ''
    writeFileSync(join(dir, 'scripts', 'lib', `m${index}.mjs`), `${next}export const value${index} = ${index}\n`)
  }
  writeFileSync(join(dir, 'scripts', 'stage.mjs'), `import {writeFileSync} from 'node:fs'\nimport './lib/m0.mjs'\nwriteFileSync(process.argv[2], '')\n`)
}

function writeInputs(dir: string): number {
  const files = DATASETS * 9
  const chunks = Math.round(INPUT_BYTES / files / CHUNK)
  const chunk = randomBytes(CHUNK)
  let index = 0
  for (const ds of datasets) {
    mkdirSync(join(dir, 'data', ds), {recursive: true})
    for (const ov of [1, 2, 3]) {
      for (const split of [1, 2, 3]) {
        const fd = openSync(join(dir, 'data', ds, `ov${ov}_split${split}.bin`), 'w')
        chunk.writeUInt32LE(index++, 0) // every file has its own content
        for (let written = 0; written < chunks; written++) writeSync(fd, chunk)
        closeSync(fd)
      }
    }
  }
  return files * chunks * CHUNK
}

/** What `seldpipe status` does in-process: load and expand the pipeline, open the cache, assess every instance. */
async function timeStatus(dir: string): Promise<{seconds: number; upToDate: number; total: number}> {
  const start = performance.now()
  const graph = buildGraph(await loadPipeline(join(dir, 'pipeline.yaml')))
  const cache = new Cache(join(dir, 'cache'))
  const assessments = await assessGraph(graph, cache)
  await cache.close()
  const upToDate = [...assessments.values()].filter((assessment) => assessment.state === 'up to date').length
  return {seconds: (performance.now() - start) / 1000, upToDate, total: graph.instances.length}
}

const dir = mkdtempSync(join(tmpdir(), 'seldpipe-bench-status-'))
try {
  writeFileSync(join(dir, 'pipeline.yaml'), pipelineText)
  writeStageCode(dir)
  const bytes = writeInputs(dir)
  console.log(`270-instance pipeline over ${(bytes / 1024 ** 3).toFixed(2)} GB of inputs in ${dir}`)

  const cold = await timeStatus(dir)
  console.log(`cold status (empty memo, every input read): ${cold.seconds.toFixed(2)} s for ${cold.total} instances`)

  const graph = buildGraph(await loadPipeline(join(dir, 'pipeline.yaml')))
  const cache = new Cache(join(dir, 'cache'))
  const runStart = performance.now()
  const controller = new AbortController()
  const summary = await runGraph(graph, cache, {executor: new LocalExecutor(), jobs: 2, force: false, reporter: new PlainReporter(() => undefined), signal: controller.signal})
  await cache.close()
  console.log(`run (to fill the cache): ${summary.ran.length} ran, ${summary.failed.length} failed in ${((performance.now() - runStart) / 1000).toFixed(1)} s`)

  const warmRuns = [await timeStatus(dir), await timeStatus(dir), await timeStatus(dir)]
  const warm = warmRuns.map((run) => run.seconds).sort((a, b) => a - b)[1]
  console.log(`warm status (unchanged inputs), median of 3: ${warm.toFixed(3)} s, ${warmRuns[0].upToDate}/${warmRuns[0].total} up to date`)

  const cliStart = performance.now()
  const cli = await execa('node', [join(repoRoot, 'bin', 'run.js'), 'status', '--json'], {cwd: dir, env: {NODE_NO_WARNINGS: '1'}})
  const cliRows = JSON.parse(cli.stdout) as {state: string}[]
  const cliSeconds = (performance.now() - cliStart) / 1000
  console.log(`warm \`seldpipe status --json\` as a process (includes Node and oclif start-up): ${cliSeconds.toFixed(2)} s, ${cliRows.filter((row) => row.state === 'up to date').length} up to date`)

  const ok = warm < TARGET_WARM_SECONDS && warmRuns[0].upToDate === warmRuns[0].total
  console.log(`${ok ? 'PASS' : 'FAIL'}: warm status ${warm.toFixed(3)} s (target < ${TARGET_WARM_SECONDS} s)`)
  if (!ok) process.exitCode = 1
} finally {
  rmSync(dir, {recursive: true, force: true})
}
