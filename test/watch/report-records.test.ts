import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Cache} from '../../src/pipeline/state/cache.js'
import {collectRecordedRuns, withUnrecordedCells, type RecordedRun, type ReportRun} from '../../src/report/collect-results.js'
import {cli, ensureBuilt} from '../pipeline/cli.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {projectFiles} from './report-fixture.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const EVALUATE = 'evaluate@dataset=synth-x,ov=1,split=1'
const TRAIN = 'train@dataset=synth-x,ov=1,split=1'

/** The run of the cell the cache holds now, described as a run record describes it. */
async function recordNow(dir: string, finishedAt: string): Promise<RecordedRun> {
  const cache = new Cache(join(dir, 'cache'))
  try {
    const evaluate = cache.instanceRecord(EVALUATE)!
    const train = cache.instanceRecord(TRAIN)!
    return {
      key: evaluate.key, instance: EVALUATE, vars: {dataset: 'synth-x', ov: '1', split: '1'},
      params: {'t.lr': train.params.t && (train.params.t as {lr: number}).lr},
      lineage: [{id: EVALUATE, stage: 'evaluate', key: evaluate.key}, {id: TRAIN, stage: 'train', key: train.key}], finishedAt,
    }
  } finally {
    await cache.close()
  }
}

describe('recorded runs in the report', () => {
  it('an earlier run of a cell keeps its own scores and curve, read from the cache though the work folder holds a newer run', async () => {
    const dir = tempDir(projectFiles)
    const metricsFile = join(dir, 'work', 'synth-x', 'ov1_split1', 'eval', 'metrics.json')
    const logFile = join(dir, 'work', 'synth-x', 'ov1_split1', 'model', 'log.jsonl')
    expect((await cli(dir, 'run', '--matrix', 'split=1')).exitCode).toBe(0)
    const first = await recordNow(dir, '2026-01-01T00:00:00.000Z')
    const firstSeld = (JSON.parse(readFileSync(metricsFile, 'utf8')) as {seld2018: {seldScore: number}}).seld2018.seldScore
    const firstLoss = readFileSync(logFile, 'utf8')
    expect((await cli(dir, 'run', '--matrix', 'split=1', '--set', 't.lr=0.5')).exitCode).toBe(0)
    const second = await recordNow(dir, '2026-01-02T00:00:00.000Z')
    expect(second.key).not.toBe(first.key)

    const cache = new Cache(join(dir, 'cache'))
    let runs: ReportRun[]
    try {
      runs = collectRecordedRuns(cache, dir, [first, second], new Map())
    } finally {
      await cache.close()
    }
    expect(runs.map((run) => run.label)).toEqual([`${second.key.slice(0, 7)} synth-x ov1 split1`, `${first.key.slice(0, 7)} synth-x ov1 split1`])
    expect(runs.map((run) => run.state)).toEqual(['unknown', 'earlier run'])
    expect(runs[1].metrics.seldScore).toBe(firstSeld)
    expect(runs[0].metrics.seldScore).not.toBe(firstSeld)
    expect(runs[1].curve.map((record) => JSON.stringify(record)).join('\n') + '\n').toBe(firstLoss)
    expect(runs[1].params['t.lr']).toBe(0.1)
    expect(runs[0].params['t.lr']).toBe(0.5)
    expect(runs[1].figures.map((figure) => figure.name)).toEqual(['test_000'])
    // A cell result the records already hold is shown once.
    expect(withUnrecordedCells(runs, [{...runs[0], id: EVALUATE}]).map((run) => run.id)).toEqual(runs.map((run) => run.id))
  })
})
