import {execa} from 'execa'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {writeFiles} from '../pipeline/helpers.js'
import {experimentFiles} from '../commands/experiment-fixture.js'
import {readSubmittedJobs} from '../../src/pipeline/executors/slurm/ledger.js'
import {cancel} from '../../src/pipeline/executors/slurm/scheduler.js'
import {ensureCluster, repoRoot} from './cluster.js'

const skipReason = await ensureCluster()
if (skipReason) console.warn(`skipping the Slurm sweep test: ${skipReason}`)

const cli = path.join(repoRoot, 'bin', 'run.js')
const SWEEP = ['--matrix', 'train.lr=0.0033,0.0044']

describe.skipIf(skipReason !== undefined)('a parameter sweep with --executor slurm on the loopback cluster', () => {
  let dir: string
  const seldpipe = (...args: string[]) => execa(process.execPath, [cli, ...args], {cwd: dir, reject: false, all: true, env: {SELDPIPE_SLURM_POLL_MS: '200'}})
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'seldpipe-slurm-sweep-'))
    // train copies this folder as its model: any content does here.
    writeFiles(dir, {...experimentFiles(), 'fixture-model/best/model.json': '{}'})
  })
  afterEach(async () => {
    await cancel(readSubmittedJobs(path.join(dir, 'cache', 'slurm')).map((job) => job.slurmId))
    await rm(dir, {recursive: true, force: true})
  })

  it('runs each variant as its own job, keeps both results side by side and records them for exp show', async () => {
    const run = await seldpipe('run', '--executor', 'slurm', '--jobs', '4', ...SWEEP)
    expect(run.exitCode, run.all).toBe(0)
    expect(run.all).toContain('5 ran, 0 restored, 0 up to date')
    const ran = (await readFile(path.join(dir, 'runs.log'), 'utf8')).trim().split('\n').sort()
    expect(ran).toEqual(['evaluate-0.0033', 'evaluate-0.0044', 'prep', 'train-0.0033', 'train-0.0044'])
    for (const lr of ['0.0033', '0.0044']) {
      const metrics = JSON.parse(await readFile(path.join(dir, `work/synth-foa/ov1_split1/lr=${lr}/eval/metrics.json`), 'utf8'))
      expect(metrics.seld2018.seldScore).toBeCloseTo(Number(lr) * 50)
    }
    const {stdout: jobs} = await execa('squeue', ['--noheader', '--states=all', '--format=%j|%Z'])
    const names = jobs.split('\n').map((line) => line.trim().split('|')).filter(([, workDir]) => workDir === dir).map(([name]) => name)
    expect(names.filter((name) => name.startsWith('seldpipe:train@')).sort()).toEqual([
      'seldpipe:train@dataset=synth-foa,ov=1,split=1,train.lr=0.0033', 'seldpipe:train@dataset=synth-foa,ov=1,split=1,train.lr=0.0044',
    ])
    expect(names).toHaveLength(5)
    const status = await seldpipe('status', '--json', ...SWEEP)
    expect((JSON.parse(status.stdout) as {state: string}[]).map((row) => row.state)).toEqual(Array(5).fill('up to date'))
    const show = await seldpipe('exp', 'show', '--json', '--sort-by', 'seld')
    const rows = (JSON.parse(show.stdout) as {rows: {params: Record<string, unknown>; metrics: {seld: number}}[]}).rows
    expect(rows.map((row) => row.params['train.lr'])).toEqual([0.0033, 0.0044])
    expect(rows[0].metrics.seld).toBeCloseTo(0.0033 * 50)

    const again = await seldpipe('run', '--executor', 'slurm', '--jobs', '4', ...SWEEP)
    expect(again.all).toContain('0 ran, 0 restored, 5 up to date')
  })
})
