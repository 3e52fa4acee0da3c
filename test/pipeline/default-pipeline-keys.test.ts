import {appendFileSync, cpSync, rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt, repoRoot} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

// The smallest run of the real pipeline: 2 train and 1 test recordings of 5 s, 2 epochs of 2 batches.
const QUICK = ['--set', 'train.quick_test=true', '--set', 'synth.train_files=2', '--set', 'synth.test_files=1', '--set', 'synth.duration=5']

interface Row {
  stage: string
  state: string
  reasons: {kind: string; path?: string; text: string}[]
}

/** A copy of the built project (its node_modules linked), as a fresh clone after `npm ci` would be. */
function cloneProject(): string {
  const dir = tempDir()
  for (const name of ['bin', 'dist', 'params', 'package.json', 'pipeline.yaml', 'pipeline.schema.json', 'params.schema.json']) {
    cpSync(join(repoRoot, name), join(dir, name), {recursive: true, filter: (source) => !source.endsWith('.test-build-lock')})
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

async function states(dir: string): Promise<Record<string, Row>> {
  const result = await cli(dir, 'status', '--json', ...QUICK)
  expect(result.exitCode, result.stderr).toBe(0)
  return Object.fromEntries((JSON.parse(result.stdout) as Row[]).map((row) => [row.stage, row]))
}

const staleStages = (rows: Record<string, Row>) => Object.values(rows).filter((row) => row.state === 'stale').map((row) => row.stage)

describe('the repository pipeline after a quick run', () => {
  it('gc keeps what restores it all; it goes stale exactly where the edited compiled code is loaded', async () => {
    const dir = cloneProject()
    const first = await cli(dir, 'run', ...QUICK)
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.stdout).toContain('7 ran')

    // gc keeps everything the pipeline references: a deleted work folder is restored whole.
    expect((await cli(dir, 'gc', '--dry-run', ...QUICK)).stdout).toContain('would free 0 B in 0 files')
    expect((await cli(dir, 'gc', ...QUICK)).exitCode).toBe(0)
    rmSync(join(dir, 'work'), {recursive: true})
    const restored = await cli(dir, 'run', ...QUICK)
    expect(restored.stdout).toContain('0 ran, 6 restored, 1 up to date')

    appendFileSync(join(dir, 'dist/src/commands/metrics.js'), '// a comment\n')
    expect(staleStages(await states(dir))).toEqual([])

    appendFileSync(join(dir, 'dist/src/seld/model/bn-statistics.js'), '// a comment\n')
    const afterBn = await states(dir)
    expect(staleStages(afterBn)).toEqual(['train', 'evaluate'])
    expect(afterBn.train.reasons).toEqual([{kind: 'code changed', path: 'dist/src/seld/model/bn-statistics.js', text: 'code changed: dist/src/seld/model/bn-statistics.js'}])

    appendFileSync(join(dir, 'dist/src/seld/features/features-worker.js'), '// a comment\n')
    const afterWorker = await states(dir)
    expect(afterWorker.features.reasons.map((reason) => reason.text)).toEqual(['code changed: dist/src/seld/features/features-worker.js'])
    expect(afterWorker.synth.state).toBe('up to date')
    expect(afterWorker.labels.state).toBe('up to date')
  }, 300_000)
})
