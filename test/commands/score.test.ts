import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeNpy} from '../../src/seld/io/npy.js'
import {readConformance, repoRoot} from '../conformance.js'

const cli = path.join(repoRoot, 'bin', 'run.js')

let dir: string
const file = (name: string) => path.join(dir, name)

function save(name: string, rows: number[][], shape = [rows.length, rows[0].length]): string {
  writeNpy(file(name), {shape, data: Float32Array.from(rows.flat())})
  return file(name)
}

// Wide columns: oclif would otherwise wrap error messages to the terminal width.
function score(...args: string[]) {
  const run = spawnSync(process.execPath, [cli, 'score', ...args], {cwd: dir, encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '1000'}})
  return {code: run.status, stdout: run.stdout, stderr: run.stderr}
}

interface MetricsCase {
  nb_frames_1s: number
  gt_sed: number[][]
  pred_sed: number[][]
  gt_doa: number[][]
  pred_doa: number[][]
  expected: Record<string, number>
}

const load = (name: string) => readConformance<MetricsCase>(name)
const arrays = (c: MetricsCase, prefix: string) => [
  '--sed-pred', save(`${prefix}sed_pred.npy`, c.pred_sed), '--sed-ref', save(`${prefix}sed_ref.npy`, c.gt_sed),
  '--doa-pred', save(`${prefix}doa_pred.npy`, c.pred_doa), '--doa-ref', save(`${prefix}doa_ref.npy`, c.gt_doa),
]

beforeAll(() => {
  if (!existsSync(path.join(repoRoot, 'dist', 'src', 'commands', 'score.js'))) throw new Error('build first: npx tsc -p .')
  dir = mkdtempSync(path.join(tmpdir(), 'seldpipe-score-'))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('seldpipe score', () => {
  const noisy = load('metrics_a_ov2_noisy.json')
  const azi = load('metrics_a_ov2_azi.json')

  it('reproduces the published metrics from .npy files, as JSON', () => {
    const run = score(...arrays(noisy, ''), '--frames-per-second', String(noisy.nb_frames_1s), '--json')
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.frames).toBe(noisy.gt_sed.length)
    expect(report.joint).toBeUndefined()
    const pairs: [string, string][] = [['er', 'er'], ['f1', 'f1'], ['doa_error_gt', 'doaErrorGt'], ['frame_recall', 'frameRecall'], ['seld_score', 'seldScore']]
    for (const [theirs, ours] of pairs) {
      expect(Math.abs(report.seld2018[ours] - noisy.expected[theirs]) / noisy.expected[theirs], theirs).toBeLessThanOrEqual(1e-6)
    }
  })

  it('adds the joint metrics with --joint and prints a readable table without --json', () => {
    const run = score(...arrays(noisy, ''), '--frames-per-second', String(noisy.nb_frames_1s), '--joint')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/error rate \(ER\)\s+3\.5833/)
    expect(run.stdout).toMatch(/frame recall\s+0\.7401/)
    expect(run.stdout).toMatch(/Source-count confusion/)
    expect(run.stdout).toMatch(/ER20°\s+\d/)
    expect(run.stdout).toMatch(/LE_CD\s+\d+\.\d\d°/)
  })

  it('scores azimuth-only arrays with --azi-only and explains the flag when it is missing', () => {
    const args = [...arrays(azi, 'azi_'), '--frames-per-second', String(azi.nb_frames_1s)]
    const run = score(...args, '--azi-only', '--json')
    expect(run.code, run.stderr).toBe(0)
    expect(Math.abs(JSON.parse(run.stdout).seld2018.seldScore - azi.expected.seld_score) / azi.expected.seld_score).toBeLessThanOrEqual(1e-6)
    const without = score(...args)
    expect(without.code).not.toBe(0)
    expect(without.stderr).toMatch(/azi_doa_pred\.npy: 22 direction columns, expected 3 × 11 classes = 33 \(x, y only: add --azi-only\)/)
  })

  it('flattens sequences × frames × columns arrays as the published code does', () => {
    const frames = noisy.gt_sed.length
    const as3d = (name: string, rows: number[][]) => save(name, rows, [10, frames / 10, rows[0].length])
    const run = score(
      '--sed-pred', as3d('p3.npy', noisy.pred_sed), '--sed-ref', as3d('r3.npy', noisy.gt_sed),
      '--doa-pred', as3d('d3.npy', noisy.pred_doa), '--doa-ref', as3d('e3.npy', noisy.gt_doa),
      '--frames-per-second', String(noisy.nb_frames_1s), '--json',
    )
    expect(run.code, run.stderr).toBe(0)
    expect(Math.abs(JSON.parse(run.stdout).seld2018.er - noisy.expected.er)).toBeLessThanOrEqual(1e-6 * noisy.expected.er)
  })

  it('names the file and the problem for bad input', () => {
    const [, sedPred, , sedRef, , doaPred, , doaRef] = arrays(noisy, '')
    const fps = ['--frames-per-second', '172']
    const rank1 = save('rank1.npy', [noisy.gt_sed.flat()], [noisy.gt_sed.length * 11])
    const short = save('short.npy', noisy.pred_doa.slice(0, 100))
    const probabilities = save('probabilities.npy', noisy.pred_sed.map((row) => row.map((v) => v * 0.9)))
    const cases: [string[], RegExp][] = [
      [['--sed-pred', rank1, '--sed-ref', sedRef, '--doa-pred', doaPred, '--doa-ref', doaRef], /rank1\.npy: expected frames × columns .*got shape \(18920\)/],
      [['--sed-pred', sedPred, '--sed-ref', sedRef, '--doa-pred', short, '--doa-ref', doaRef], /short\.npy: 100 frames, but .*sed_ref\.npy has 1720/],
      [['--sed-pred', probabilities, '--sed-ref', sedRef, '--doa-pred', doaPred, '--doa-ref', doaRef], /probabilities\.npy must hold only 0 and 1/],
      [['--sed-pred', file('missing.npy'), '--sed-ref', sedRef, '--doa-pred', doaPred, '--doa-ref', doaRef], /missing\.npy/],
    ]
    for (const [args, message] of cases) {
      const run = score(...args, ...fps)
      expect(run.code, run.stdout).not.toBe(0)
      expect(run.stderr).toMatch(message)
    }
  })
})
