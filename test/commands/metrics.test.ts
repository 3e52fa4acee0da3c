import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Seld2018Metrics} from '../../src/seld/eval/metrics-2018.js'
import type {EvaluationReport} from '../../src/seld/eval/report.js'
import {Cache} from '../../src/pipeline/state/cache.js'
import {flattenMetrics, RunRecords} from '../../src/pipeline/state/records.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(repoRoot, 'bin', 'run.js')
let project: string

// Wide columns: oclif would otherwise wrap error messages to the terminal width.
function metricsCommand(cwd: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [cli, 'metrics', ...args], {cwd, encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '1000'}})
  return {code: run.status, stdout: run.stdout, stderr: run.stderr}
}

function seld2018(er: number, doaDegrees: number, seldScore: number): Seld2018Metrics {
  return {
    er, f1: 0.9, doaErrorGt: 0, doaErrorPred: 0, doaGtCount: 10, doaPredCount: 10, goodFrameCount: 9, frameRecall: 0.95,
    sourceCountConfusion: [[1]], sourceCountLabels: [0], doaAvgAccuracy: 1, doaErrorGtDegrees: doaDegrees, seldScore,
  }
}

let recorded = 0
/** Records an evaluate result as a run of the pipeline would (the records are what metrics reads). */
async function recordReport(root: string, dataset: string, ov: number, split: number, report: EvaluationReport | Record<string, unknown>, stage = 'evaluate'): Promise<void> {
  const vars = {dataset, ov: String(ov), split: String(split)}
  const file = `work/${dataset}/ov${ov}_split${split}/eval/metrics.json`
  const key = (++recorded).toString(16).padStart(64, '0')
  const cache = new Cache(path.join(root, 'cache'))
  await new RunRecords(cache).put({
    key, instance: `${stage}@dataset=${dataset},ov=${ov},split=${split}`, stage, vars, params: {}, lineage: [{id: stage, stage, key}],
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, recorded)).toISOString(), metrics: {[file]: flattenMetrics(report as Record<string, unknown>)},
  })
  await cache.close()
}

beforeAll(async () => {
  if (!existsSync(path.join(repoRoot, 'dist', 'src', 'commands', 'metrics.js'))) throw new Error('build first: npx tsc -p .')
  project = mkdtempSync(path.join(tmpdir(), 'seldpipe-metrics-'))
  writeFileSync(path.join(project, 'pipeline.yaml'), 'version: 1\n')
  const joint = {er20: 0.25, f20: 0.8, leCd: 12, lrCd: 0.9, seldScore: 0.2, classwise: {f20: [], leCd: [], lrCd: []}}
  // An older result of ansim ov1 split1: replaced by the newer one.
  await recordReport(project, 'ansim', 1, 1, {dataset: 'ansim', seld2018: seld2018(0.9, 90, 0.9), joint})
  await recordReport(project, 'ansim', 1, 1, {dataset: 'ansim', seld2018: seld2018(0.1, 10, 0.1), joint})
  await recordReport(project, 'ansim', 1, 2, {dataset: 'ansim', seld2018: seld2018(0.3, 20, 0.3), joint: {...joint, leCd: 16}})
  await recordReport(project, 'ansim', 2, 1, {seld2018: seld2018(0.5, 30, 0.4)})
  // Metrics of another kind: not an evaluate result.
  await recordReport(project, 'ansim', 3, 1, {loss: 0.2}, 'train')
})
afterAll(() => rmSync(project, {recursive: true, force: true}))

describe('seldpipe metrics', () => {
  it('prints one row per result and a mean row per dataset and ov with several splits', () => {
    const run = metricsCommand(project)
    expect(run.code, run.stderr).toBe(0)
    const rows = run.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^dataset\s+ov\s+split\s+ER\s+F1\s+DOA err°\s+frame recall\s+SELD\s+ER20°\s+F20°\s+LE_CD°\s+LR_CD/)
    expect(rows.slice(2).map((r) => r.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'ansim ov1 1 0.100', 'ansim ov1 2 0.300', 'ansim ov1 mean 0.200', 'ansim ov2 1 0.500',
    ])
    expect(rows[4]).toMatch(/mean\s+0\.200\s+0\.900\s+15\.0\s+0\.950\s+0\.200\s+0\.250\s+0\.800\s+14\.0\s+0\.900/)
  })

  it('gives the same rows as JSON, and finds the project through --pipeline', () => {
    const run = metricsCommand(tmpdir(), '--json', '--pipeline', path.join(project, 'pipeline.yaml'))
    expect(run.code, run.stderr).toBe(0)
    const {results, means} = JSON.parse(run.stdout)
    expect(results.map((r: {dataset: string; ov: number; split: number}) => [r.dataset, r.ov, r.split])).toEqual([['ansim', 1, 1], ['ansim', 1, 2], ['ansim', 2, 1]])
    expect(results[0].file).toBe('work/ansim/ov1_split1/eval/metrics.json')
    expect(results[0].id).toBe('0000000')
    expect(results[2].joint).toBeUndefined()
    expect(means).toHaveLength(1)
    expect(means[0].splits).toEqual([1, 2])
    expect(means[0].doaErrorDegrees).toBeCloseTo(15, 12)
    expect(means[0].joint.leCd).toBeCloseTo(14, 12)
  })

  it('says so when there are no results yet', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'seldpipe-metrics-empty-'))
    writeFileSync(path.join(empty, 'pipeline.yaml'), 'version: 1\n')
    const run = metricsCommand(empty)
    rmSync(empty, {recursive: true, force: true})
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/No evaluate results recorded yet/)
  })

  it('names the file for a missing pipeline', () => {
    const missing = metricsCommand(project, '--pipeline', 'nowhere.yaml')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/nowhere\.yaml: no such pipeline file/)
  })
})
