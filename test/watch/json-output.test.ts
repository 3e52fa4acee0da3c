import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {cli, ensureBuilt, repoRoot} from '../pipeline/cli.js'
import {projectFiles} from '../pipeline/fixture.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {saveFixedModel, writeNoiseWav} from '../seld/predict-fixture.js'

const tempDir = useTempDirs()
beforeAll(async () => {
  await ensureBuilt()
  await tf.setBackend('cpu')
})

/** stdout must be exactly one JSON document. */
function onlyJson(stdout: string): unknown {
  expect(stdout.trim().startsWith('{') || stdout.trim().startsWith('[')).toBe(true)
  return JSON.parse(stdout)
}

describe('--json', () => {
  it('status, dag and run --dry-run print one JSON document each; run prints its summary as one', async () => {
    const dir = tempDir(projectFiles())
    const dag = onlyJson((await cli(dir, 'dag', '--json')).stdout) as {id: string; upstream: string[]}[]
    expect(dag.map((node) => node.id)).toEqual(['prep@ds=a', 'prep@ds=b', 'feat@ds=a', 'feat@ds=b', 'report@ds=a', 'report@ds=b'])
    expect(dag.find((node) => node.id === 'report@ds=a')!.upstream).toEqual(['feat@ds=a'])

    const dry = onlyJson((await cli(dir, 'run', '--dry-run', '--json')).stdout) as {planned: {id: string; action: string; reasons: string[]}[]}
    expect(dry.planned).toHaveLength(6)
    expect(dry.planned[0]).toEqual({id: 'prep@ds=a', action: 'run', reasons: ['never run']})
    expect(existsSync(join(dir, 'work'))).toBe(false)

    const run = await cli(dir, 'run', '--json', '--matrix', 'ds=a,bad')
    expect(run.exitCode).toBe(1)
    const summary = onlyJson(run.stdout) as Record<string, string[]>
    expect(summary.ran).toEqual(['prep@ds=a', 'prep@ds=bad', 'feat@ds=a', 'report@ds=a'])
    expect(summary.failed).toEqual(['feat@ds=bad'])
    expect(summary.notRun).toEqual(['report@ds=bad'])
    expect(run.stderr).toContain('✗ failed feat@ds=bad')

    const status = onlyJson((await cli(dir, 'status', '--json', '--matrix', 'ds=a')).stdout) as {id: string; state: string}[]
    expect(status.map((row) => row.state)).toEqual(['up to date', 'up to date', 'up to date'])
  })

  it('errors are JSON too, with the exit code the error asks for', async () => {
    const dir = tempDir(projectFiles())
    for (const args of [['status', '--json', '--pipeline', 'missing.yaml'], ['dag', '--json', '--matrix', 'nokey=1'], ['run', '--json', '--jobs', '0']]) {
      const result = await cli(dir, ...args)
      expect(result.exitCode, args.join(' ')).toBe(2)
      const {error} = onlyJson(result.stdout) as {error: {message: string; exit: number}}
      expect(error.exit).toBe(2)
      expect(error.message.length).toBeGreaterThan(0)
    }
  })

  it('predict --format json --out - prints the events of one recording and writes no file', async () => {
    const dir = tempDir({'pipeline.yaml': 'version: 1\n'})
    const model = join(dir, 'model')
    await saveFixedModel(model, {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20})
    writeNoiseWav(join(dir, 'rec.wav'), 22100)
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'predict', 'rec.wav', '--model', model, '--format', 'json', '--out', '-'], {cwd: dir, encoding: 'utf8'})
    expect(run.status).toBe(0)
    const events = onlyJson(run.stdout) as {class: string; azimuth: number; elevation: number}[]
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({class: 'phone', azimuth: 60, elevation: 20})
    expect(run.stderr).toContain('rec.wav: 1 event')
    expect(readdirSync(dir).sort()).toEqual(['model', 'pipeline.yaml', 'rec.wav'])

    const summary = spawnSync(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'predict', 'rec.wav', '--model', model, '--json', '--no-plot'], {cwd: dir, encoding: 'utf8'})
    expect(summary.status).toBe(0)
    const {recordings} = onlyJson(summary.stdout) as {recordings: {input: string; events: unknown[]; outputFile: string}[]}
    expect(recordings).toMatchObject([{input: 'rec.wav', outputFile: join(dir, 'rec.csv')}])
    expect(recordings[0].events).toHaveLength(1)

    const two = spawnSync(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'predict', 'rec.wav', 'rec.wav', '--model', model, '--out', '-'], {cwd: dir, encoding: 'utf8'})
    expect(two.status).toBe(2)
    expect(two.stderr).toContain('--out - prints the events of one recording')
  })
})
