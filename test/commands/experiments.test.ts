import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt} from '../pipeline/cli.js'
import {experimentFiles} from './experiment-fixture.js'
import {ranSince} from '../pipeline/fixture.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {saveFixedModel, writeNoiseWav} from '../seld/predict-fixture.js'
import {Cache} from '../../src/pipeline/state/cache.js'
import {RunRecords} from '../../src/pipeline/state/records.js'

const tempDir = useTempDirs()

interface ShowJson {
  differing: string[]
  rows: {id: string; key: string; finishedAt: string; instance: string; params: Record<string, unknown>; vars: Record<string, string>; metrics: Record<string, number | null>}[]
}

async function seldpipe(dir: string, ...args: string[]) {
  const result = await cli(dir, ...args)
  expect(result.exitCode, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0)
  return result.stdout
}
const show = async (dir: string, ...args: string[]) => JSON.parse(await seldpipe(dir, 'exp', 'show', '--json', ...args)) as ShowJson

let fixtureModel: string
beforeAll(async () => {
  await ensureBuilt()
  await tf.setBackend('cpu')
  fixtureModel = mkdtempSync(join(tmpdir(), 'seldpipe-model-'))
  await saveFixedModel(fixtureModel, {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20})
}, 60_000)
afterAll(() => rmSync(fixtureModel, {recursive: true, force: true}))

function project(): string {
  const dir = tempDir(experimentFiles())
  cpSync(fixtureModel, join(dir, 'fixture-model'), {recursive: true})
  return dir
}

describe('experiments: sweeps, records and their comparison', () => {
  it('records --set runs and sweep variants side by side, and exp show lists every learning rate with its scores', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await seldpipe(dir, 'run', '--set', 'train.lr=0.0011')
    await seldpipe(dir, 'run', '--set', 'train.lr=0.0022')
    expect(ran()).toEqual(['evaluate-0.0011', 'evaluate-0.0022', 'prep', 'train-0.0011', 'train-0.0022'])
    const two = await show(dir)
    expect(two.rows.map((row) => [row.params['train.lr'], row.metrics.seld])).toEqual([[0.0011, 0.0011 * 50], [0.0022, 0.0022 * 50]])
    expect(two.differing).toEqual(['train.lr'])

    const sweep = await seldpipe(dir, 'run', '--matrix', 'train.lr=0.0033,0.0044', '--jobs', '2')
    expect(sweep).toContain('4 ran, 0 restored, 1 up to date')
    expect(ran()).toEqual(['evaluate-0.0033', 'evaluate-0.0044', 'train-0.0033', 'train-0.0044'])
    const status = JSON.parse(await seldpipe(dir, 'status', '--json', '--matrix', 'train.lr=0.0033,0.0044')) as {id: string; state: string}[]
    expect(status.map((row) => `${row.id} ${row.state}`)).toEqual([
      'prep@dataset=synth-foa,ov=1,split=1 up to date',
      'train@dataset=synth-foa,ov=1,split=1,train.lr=0.0033 up to date',
      'train@dataset=synth-foa,ov=1,split=1,train.lr=0.0044 up to date',
      'evaluate@dataset=synth-foa,ov=1,split=1,train.lr=0.0033 up to date',
      'evaluate@dataset=synth-foa,ov=1,split=1,train.lr=0.0044 up to date',
    ])
    for (const lr of ['0.0033', '0.0044']) {
      const metrics = JSON.parse(readFileSync(join(dir, `work/synth-foa/ov1_split1/lr=${lr}/eval/metrics.json`), 'utf8'))
      expect(metrics.seld2018.seldScore).toBeCloseTo(Number(lr) * 50)
    }
    const four = await show(dir, '--sort-by', 'seld')
    expect(four.rows.map((row) => row.params['train.lr'])).toEqual([0.0011, 0.0022, 0.0033, 0.0044])
    const byF1 = await show(dir, '--sort-by', 'f1')
    expect(byF1.rows.map((row) => row.params['train.lr'])).toEqual([0.0011, 0.0022, 0.0033, 0.0044])
    const filtered = await show(dir, '--matrix', 'train.lr=0.0022,0.0044')
    expect(filtered.rows.map((row) => row.params['train.lr'])).toEqual([0.0022, 0.0044])

    const table = (await seldpipe(dir, 'exp', 'show', '--sort-by', 'seld')).split('\n')
    expect(table[0]).toMatch(/^id\s+train\.lr\s+ER\s+F1\s+DOA err°\s+frame recall\s+SELD\s+ER20°\s+F20°\s+LE_CD°\s+LR_CD\s+SELD \(DCASE\)\s+finished$/)
    expect(table[2]).toMatch(new RegExp(`^${four.rows[0].id}\\s+0\\.0011\\s+0\\.110\\s+0\\.989\\s+11\\.0\\s+0\\.999\\s+0\\.055\\s`))
    expect(table).toHaveLength(6)
  })

  it('compares two runs by id: params diff names what differs, metrics diff the change of every score', async () => {
    const dir = project()
    await seldpipe(dir, 'run', '--matrix', 'train.lr=0.001,0.003', 'features.nfft=64,128')
    const {rows} = await show(dir)
    expect(rows).toHaveLength(4)
    const a = rows.find((row) => row.params['train.lr'] === 0.001 && row.params['features.nfft'] === 64)!
    const b = rows.find((row) => row.params['train.lr'] === 0.003 && row.params['features.nfft'] === 64)!
    const params = JSON.parse(await seldpipe(dir, 'params', 'diff', a.id, b.id, '--json'))
    expect(params).toEqual({a: a.id, b: b.id, params: {'train.lr': {a: 0.001, b: 0.003}}})
    const text = await seldpipe(dir, 'params', 'diff', a.id.slice(0, 5), b.id)
    expect(text).toMatch(new RegExp(`train\\.lr\\s+0\\.001\\s+0\\.003`))
    expect(text).not.toMatch(/^features\.nfft/m)
    const metrics = JSON.parse(await seldpipe(dir, 'metrics', 'diff', a.id, b.id, '--json')).metrics
    expect(metrics.seld.a).toBeCloseTo(0.05)
    expect(metrics.seld.change).toBeCloseTo(0.1)
    expect(metrics.f1.change).toBeCloseTo(-0.02)
    expect(Object.keys(metrics)).toEqual(['er', 'f1', 'doa_error', 'frame_recall', 'seld', 'er20', 'f20', 'le_cd', 'lr_cd', 'seld_dcase'])
    expect(await seldpipe(dir, 'metrics', 'diff', a.id, b.id)).toMatch(/SELD\s+0\.050\s+0\.150\s+\+0\.100/)

    const unknown = await cli(dir, 'params', 'diff', a.id, 'ffffff')
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toContain('no recorded run ffffff')
    const notAnId = await cli(dir, 'metrics', 'diff', a.id, 'lr=0.1')
    expect(notAnId.exitCode).toBe(2)
    expect(notAnId.stderr).toContain("'lr=0.1' is not a run id")
  })

  it('metrics shows the newest result of each evaluate instance, a variant column for sweeps', async () => {
    const dir = project()
    await seldpipe(dir, 'run', '--set', 'train.lr=0.002')
    await seldpipe(dir, 'run', '--set', 'train.lr=0.004')
    await seldpipe(dir, 'run', '--matrix', 'train.lr=0.001,0.003')
    const {results} = JSON.parse(await seldpipe(dir, 'metrics', '--json')) as {results: {variant?: string; seldScore: number}[]}
    expect(results.map((row) => [row.variant, row.seldScore])).toEqual([[undefined, 0.004 * 50], ['lr=0.001', 0.001 * 50], ['lr=0.003', 0.003 * 50]])
    const table = (await seldpipe(dir, 'metrics')).split('\n')
    expect(table[0]).toMatch(/^dataset\s+ov\s+split\s+variant\s+ER/)
    expect(table[3]).toMatch(/^synth-foa\s+ov1\s+1\s+lr=0\.001\s+0\.100/)
  })

  it('a metrics file that is not JSON fails its instance, naming the file, and records nothing', async () => {
    const dir = project()
    writeFileSync(join(dir, 'break-metrics'), '')
    const broken = await cli(dir, 'run')
    expect(broken.exitCode).toBe(1)
    expect(broken.stdout).toContain('failed evaluate@dataset=synth-foa,ov=1,split=1: metrics file work/synth-foa/ov1_split1/eval/metrics.json is not JSON')
    expect((await show(dir)).rows).toEqual([])
    rmSync(join(dir, 'break-metrics'))
    expect(await seldpipe(dir, 'run')).toContain('1 ran, 0 restored, 2 up to date')
    expect((await show(dir)).rows).toHaveLength(1)
  })

  it('predict --model <run id> uses that run\'s model, restored from the cache when its folder is gone', async () => {
    const dir = project()
    await seldpipe(dir, 'run', '--matrix', 'train.lr=0.001,0.002')
    const [first] = (await show(dir)).rows
    const modelDir = join(dir, 'work/synth-foa/ov1_split1/lr=0.001/model')
    rmSync(modelDir, {recursive: true})
    writeNoiseWav(join(dir, 'rec.wav'), 22100)
    const result = await cli(dir, 'predict', 'rec.wav', '--model', first.id, '--no-plot', '--backend', 'cpu')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain(`run ${first.id}: model work/synth-foa/ov1_split1/lr=0.001/model`)
    expect(readFileSync(join(dir, 'rec.csv'), 'utf8')).toMatch(/^class,onset,offset,azimuth,elevation,confidence[a-z_,]*\nphone,0,/)
    expect(readFileSync(join(modelDir, 'lr.txt'), 'utf8')).toBe('0.001nfft=64')
    // Without --model, the newest successful training, variants included.
    const newest = await cli(dir, 'predict', 'rec.wav', '--no-plot', '--backend', 'cpu')
    expect(newest.exitCode, newest.stderr).toBe(0)
    expect(newest.stderr).toContain('using the model of train@dataset=synth-foa,ov=1,split=1,train.lr=0.002')
    // The restored folder is the cached result: the pipeline sees nothing to do.
    expect(await seldpipe(dir, 'status', '--matrix', 'train.lr=0.001,0.002')).toContain('5 instances: 5 up to date')

    // A folder holding another run's model is left alone: the asked one is restored under cache/restored.
    await seldpipe(dir, 'run', '--set', 'train.lr=0.007')
    await seldpipe(dir, 'run', '--set', 'train.lr=0.008')
    const earlier = (await show(dir)).rows.find((row) => row.params['train.lr'] === 0.007)!
    const elsewhere = await cli(dir, 'predict', 'rec.wav', '--model', earlier.id, '--no-plot', '--backend', 'cpu')
    expect(elsewhere.exitCode, elsewhere.stderr).toBe(0)
    expect(elsewhere.stderr).toMatch(/run [0-9a-f]{7}: model cache\/restored\/[0-9a-f]{12}\/work\/synth-foa\/ov1_split1\/model\n/)
    expect(readFileSync(join(dir, 'work/synth-foa/ov1_split1/model/lr.txt'), 'utf8')).toBe('0.008nfft=64')
  })

  it('a new sweep value runs only its own variant; a result cached without a record gets one on the next run', async () => {
    const dir = project()
    const ran = ranSince(dir)
    await seldpipe(dir, 'run', '--matrix', 'train.lr=0.001,0.002')
    ran()
    expect(await seldpipe(dir, 'run', '--matrix', 'train.lr=0.002,0.005')).toContain('2 ran, 0 restored, 3 up to date')
    expect(ran()).toEqual(['evaluate-0.005', 'train-0.005'])
    expect((await show(dir)).rows).toHaveLength(3)

    const cache = new Cache(join(dir, 'cache'))
    const records = new RunRecords(cache)
    const forgotten = records.all().find((record) => record.instance.endsWith('train.lr=0.002') && record.stage === 'evaluate')!
    const finishedAt = cache.keyRecord(forgotten.key)!.finishedAt
    await records.remove(forgotten.key)
    await cache.close()
    expect((await show(dir)).rows).toHaveLength(2)
    expect(await seldpipe(dir, 'run', '--matrix', 'train.lr=0.002')).toContain('0 ran, 0 restored, 3 up to date')
    const back = (await show(dir)).rows.find((row) => row.key === forgotten.key)!
    expect(back.params['train.lr']).toBe(0.002)
    // Recorded with the time its cached result was made, not the time of the run that found it.
    expect(back.finishedAt).toBe(finishedAt)
  })
})
