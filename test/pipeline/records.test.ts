import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Cache} from '../../src/pipeline/state/cache.js'
import {isParamKey} from '../../src/pipeline/spec/pipeline-file.js'
import {differingKeys, flattenMetrics, flattenParams, newestPerCell, recordsReferenceSource, referencedKeys, RunRecords, type RunRecord} from '../../src/pipeline/state/records.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

function record(key: string, vars: Record<string, string>, minute: number, params: Record<string, unknown> = {}): RunRecord {
  const full = key.padEnd(64, '0')
  return {
    key: full, instance: `evaluate@${Object.entries(vars).map(([name, value]) => `${name}=${value}`).join(',')}`, stage: 'evaluate', vars, params,
    lineage: [{id: 'train', stage: 'train', key: `t${key}`.padEnd(64, '0')}, {id: 'evaluate', stage: 'evaluate', key: full}],
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(), metrics: {},
  }
}

describe('run records', () => {
  it('finds a run by any unique prefix of its key, and says why an id does not name one run', async () => {
    const cache = new Cache(join(tempDir(), 'cache'))
    const records = new RunRecords(cache)
    for (const key of ['abc123', 'abc456', 'def789']) await records.put(record(key, {ds: key}, 1))
    expect(records.find('def7').vars).toEqual({ds: 'def789'})
    expect(records.find('abc12').vars).toEqual({ds: 'abc123'})
    expect(() => records.find('abc4')).not.toThrow()
    expect(() => records.find('abc')).toThrow(/not a run id/)
    expect(() => records.find('abcd')).toThrow('no recorded run abcd')
    await records.put(record('abc4567', {ds: 'x'}, 2))
    expect(() => records.find('abc45')).toThrow(/run id abc45 is ambiguous: abc456000000, abc456700000/)
    expect(records.all().map((run) => run.vars.ds)).toEqual(['abc123', 'abc456', 'def789', 'x'])
    await cache.close()
  })

  it('keeps numbers of metrics by dotted key and leaves lists out; parameters flatten to their leaves', () => {
    expect(flattenMetrics({seld2018: {er: 0.5, f1: null, confusion: [[1, 2]], label: 'x'}, loss: 2})).toEqual({'seld2018.er': 0.5, 'seld2018.f1': null, loss: 2})
    expect(flattenParams({train: {lr: 0.1, sizes: [1, 2], opt: {beta: 0.9}}, 'features.nfft': 512})).toEqual({'train.lr': 0.1, 'train.sizes': [1, 2], 'train.opt.beta': 0.9, 'features.nfft': 512})
  })

  it('names the keys every record was made from (for gc), and the newest N runs per cell', async () => {
    const runs = [
      record('a1', {ds: 'a', 'train.lr': '0.1'}, 1),
      record('a2', {ds: 'a', 'train.lr': '0.2'}, 3),
      record('a3', {ds: 'a'}, 2),
      record('b1', {ds: 'b'}, 4),
    ]
    expect(referencedKeys(runs.slice(0, 2))).toEqual(new Set(['a1', 'ta1', 'a2', 'ta2'].map((key) => key.padEnd(64, '0'))))
    const {keys, instances} = await recordsReferenceSource(runs.slice(0, 1)).collect()
    expect([...keys].map((key) => key.slice(0, 3))).toEqual(['ta1', 'a10'])
    expect([...instances]).toEqual(['train', 'evaluate'])
    // The variants of a sweep compete within their cell (ds=a), newest first.
    expect(newestPerCell(runs, 2, (key) => !isParamKey(key)).map((run) => run.key.slice(0, 2)).sort()).toEqual(['a2', 'a3', 'b1'])
    expect(newestPerCell(runs, 1, (key) => !isParamKey(key)).map((run) => run.key.slice(0, 2)).sort()).toEqual(['a2', 'b1'])
  })

  it('lists the matrix values and parameters that differ between records', () => {
    const runs = [record('a1', {ds: 'a'}, 1, {'train.lr': 0.1, 'train.epochs': 2}), record('a2', {ds: 'a'}, 2, {'train.lr': 0.2, 'train.epochs': 2})]
    expect(differingKeys(runs)).toEqual(['train.lr'])
    expect(differingKeys([...runs, record('b1', {ds: 'b'}, 3, {'train.lr': 0.2, 'train.epochs': 2})])).toEqual(['ds', 'train.lr'])
  })
})
