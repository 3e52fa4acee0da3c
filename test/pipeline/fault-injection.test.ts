import {createHash} from 'node:crypto'
import {cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync} from 'node:fs'
import {join, relative} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {execa} from 'execa'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt, repoRoot} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

// The default pipeline at its smallest: 2 training and 1 test recording of 5 s, 2 epochs of 2 batches.
const QUICK = ['--set', 'train.quick_test=true', '--set', 'synth.train_files=2', '--set', 'synth.test_files=1', '--set', 'synth.duration=5']
const KILLS = 10
// Stages whose outs are the same bytes on every run (training initialises its weights unseeded).
const DETERMINISTIC = ['synth', 'unzip', 'labels', 'features', 'normalize']

/** A project running the repository's pipeline.yaml and params on its built stages. */
function quickProject(): string {
  const dir = tempDir({'pipeline.yaml': readFileSync(join(repoRoot, 'pipeline.yaml'), 'utf8')})
  cpSync(join(repoRoot, 'params'), join(dir, 'params'), {recursive: true})
  cpSync(join(repoRoot, 'params.schema.json'), join(dir, 'params.schema.json'))
  symlinkSync(join(repoRoot, 'dist'), join(dir, 'dist'))
  return dir
}

interface Row {
  id: string
  stage: string
  state: string
}

/** Each file under `path` (or `path` itself) with the sha256 of its content. */
function contentOf(path: string): Record<string, string> {
  if (!existsSync(path)) return {}
  const files = statSync(path).isDirectory() ? readdirSync(path, {recursive: true, encoding: 'utf8'}).map((name) => join(path, name)).filter((file) => statSync(file).isFile()) : [path]
  return Object.fromEntries(files.map((file) => [relative(path, file), createHash('sha256').update(readFileSync(file)).digest('hex')]))
}

/** The outs of each stage (absolute), as pipeline.yaml declares them for the one cell: synth-foa, ov 1, split 1. */
function outsOf(dir: string): Record<string, string[]> {
  const cell = 'work/synth-foa/ov1_split1'
  const outs: Record<string, string[]> = {
    synth: ['data/synth-foa/ov1_split1.zip'],
    unzip: [`${cell}/wav`, `${cell}/desc`],
    labels: [`${cell}/labels`],
    features: [`${cell}/features`],
    normalize: [`${cell}/normalized`],
    train: [`${cell}/model`],
    evaluate: [`${cell}/eval`],
  }
  return Object.fromEntries(Object.entries(outs).map(([stage, paths]) => [stage, paths.map((out) => join(dir, out))]))
}

/** What a stage's outs hold: their exact content for deterministic stages, otherwise the file names. */
function snapshot(dir: string, stage: string): unknown {
  return outsOf(dir)[stage].map((out) => {
    const content = contentOf(out)
    return DETERMINISTIC.includes(stage) ? content : Object.keys(content).sort()
  })
}

async function status(dir: string): Promise<Row[]> {
  const result = await cli(dir, 'status', '--json', ...QUICK)
  expect(result.exitCode, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Row[]
}

/** Partial outs and temporary objects a killed process leaves. */
function leftovers(dir: string): string[] {
  return ['work', 'data', 'cache/objects']
    .filter((folder) => existsSync(join(dir, folder)))
    .flatMap((folder) => readdirSync(join(dir, folder), {recursive: true, encoding: 'utf8'}).map((name) => join(folder, name)))
    .filter((path) => /partial-\d+$|\.tmp-\d+$|\.seldpipe-restore$/.test(path))
}

describe('fault injection', () => {
  it(`SIGKILLed at ${KILLS} random moments, status never claims more than ran, and the rerun's outs equal a clean run's`, async () => {
    const clean = quickProject()
    const cleanRun = await cli(clean, 'run', ...QUICK)
    expect(cleanRun.exitCode, cleanRun.stdout + cleanRun.stderr).toBe(0)
    const stages = Object.keys(outsOf(clean))
    const reference = Object.fromEntries(stages.map((stage) => [stage, snapshot(clean, stage)]))

    const dir = quickProject()
    const seed = Date.now() % 100_000
    let state = seed
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const moments: string[] = []
    for (let kill = 0; kill < KILLS; kill++) {
      // Each run continues what the killed ones finished, so short delays still reach the later stages.
      const delay = 500 + Math.floor(random() * 11_000)
      // Half the kills take the coordinator alone (its stage lives on), half the whole process group (a crash).
      const wholeGroup = kill % 2 === 1
      const victim = execa('node', [join(repoRoot, 'bin', 'run.js'), 'run', ...QUICK], {cwd: dir, reject: false, detached: true, env: {NODE_NO_WARNINGS: '1'}})
      await sleep(delay)
      if (!wholeGroup) victim.kill('SIGKILL')
      else {
        try {
          process.kill(-victim.pid!, 'SIGKILL')
        } catch (error) {
          // The run may have finished, its whole group gone, before the moment came.
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
        }
      }
      const ended = await victim
      moments.push(`${delay} ms${wholeGroup ? ' (group)' : ''}${ended.exitCode === 0 ? ' after it finished' : ''}`)
      const context = `seed ${seed}, kills at ${moments.join(', ')}`
      for (const row of await status(dir)) {
        expect(['up to date', 'stale'], `${row.id}: ${context}`).toContain(row.state)
        // Whatever status calls up to date holds exactly what a finished run writes.
        if (row.state === 'up to date') expect(snapshot(dir, row.stage), `${row.id}: ${context}`).toEqual(reference[row.stage])
      }
    }
    const context = `seed ${seed}, kills at ${moments.join(', ')}`
    const rerun = await cli(dir, 'run', ...QUICK)
    expect(rerun.exitCode, `${context}\n${rerun.stdout}\n${rerun.stderr}`).toBe(0)
    expect((await status(dir)).map((row) => row.state), context).toEqual(stages.map(() => 'up to date'))
    for (const stage of stages) expect(snapshot(dir, stage), `${stage}: ${context}`).toEqual(reference[stage])
    expect(JSON.parse(readFileSync(join(dir, 'work/synth-foa/ov1_split1/eval/metrics.json'), 'utf8'))).toHaveProperty('seld2018')
    expect(leftovers(dir), context).toEqual([])
  }, 420_000)
})
