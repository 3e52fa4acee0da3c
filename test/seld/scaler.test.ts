import {spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {readNpy, writeNpy, type NdArray} from '../../src/seld/io/npy.js'
import {applyScaler, fitScaler, normalizeDirectory, readScaler, RunningMoments, writeScaler} from '../../src/seld/features/scaler.js'
import {useWorkDir} from '../work-dir.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** frames × 2 × 3 features; feature i is offset + spread·(noise) with its own offset and spread. */
function features(frames: number, seed: number, offset = 0, spread = 1): NdArray {
  const data = new Float32Array(frames * 6)
  let state = seed
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    const feature = i % 6
    data[i] = offset + feature * 10 + spread * (feature + 1) * (state / 2 ** 32 - 0.5)
  }
  return {shape: [frames, 2, 3], data}
}

/** Exact mean and population standard deviation of every feature over all arrays, two passes in float64. */
function exactMoments(arrays: NdArray[]): {mean: number[]; std: number[]} {
  const size = 6
  const sum = new Array<number>(size).fill(0)
  let rows = 0
  for (const array of arrays) {
    for (let i = 0; i < array.data.length; i++) sum[i % size] += array.data[i]
    rows += array.data.length / size
  }
  const mean = sum.map((s) => s / rows)
  const squares = new Array<number>(size).fill(0)
  for (const array of arrays) for (let i = 0; i < array.data.length; i++) squares[i % size] += (array.data[i] - mean[i % size]) ** 2
  return {mean, std: squares.map((s) => Math.sqrt(s / rows))}
}

const work = useWorkDir('seld-scaler-')

describe('RunningMoments', () => {
  it('gives the mean and standard deviation of all rows, added in batches of any size', () => {
    const arrays = [features(1, 1), features(500, 2), features(37, 3), features(2000, 4)]
    const moments = new RunningMoments([2, 3])
    for (const array of arrays) moments.add(array, 'batch')
    const scaler = moments.scaler()
    const exact = exactMoments(arrays)
    expect(scaler.count).toBe(2538)
    scaler.mean.forEach((mean, i) => expect(mean).toBeCloseTo(exact.mean[i], 10))
    scaler.scale.forEach((scale, i) => expect(scale / exact.std[i]).toBeCloseTo(1, 10))
  })

  it('stays accurate for features far from zero with a small spread, where sums of squares cancel', () => {
    const arrays = [features(3000, 5, 1e4, 1e-2), features(3000, 6, 1e4, 1e-2)]
    const moments = new RunningMoments([2, 3])
    for (const array of arrays) moments.add(array, 'batch')
    const exact = exactMoments(arrays)
    moments.scaler().scale.forEach((scale, i) => expect(Math.abs(scale / exact.std[i] - 1)).toBeLessThan(1e-9))
  })

  it('scales a constant feature by 1 and refuses arrays of another feature shape', () => {
    const moments = new RunningMoments([2])
    moments.add({shape: [3, 2], data: Float32Array.from([5, 1, 5, 2, 5, 3])}, 'a')
    const scaler = moments.scaler()
    expect(scaler.mean).toEqual([5, 2])
    expect(scaler.scale[0]).toBe(1)
    expect(scaler.scale[1]).toBeCloseTo(Math.sqrt(2 / 3), 12)
    expect(() => moments.add({shape: [2, 3], data: new Float32Array(6)}, 'odd.npy')).toThrow("odd.npy: shape (2, 3) does not end in the scaler's feature shape (2)")
  })
})

describe('applyScaler and the scaler file', () => {
  it('standardises every feature of the arrays it was fitted on', () => {
    const array = features(1000, 9, 3, 4)
    const moments = new RunningMoments([2, 3])
    moments.add(array, 'train')
    applyScaler(moments.scaler(), array)
    const after = exactMoments([array])
    after.mean.forEach((mean) => expect(Math.abs(mean)).toBeLessThan(1e-5))
    after.std.forEach((std) => expect(std).toBeCloseTo(1, 5))
  })

  it('applies to arrays with leading dimensions (sequences × frames × features) and refuses other feature shapes', () => {
    const scaler = {featureShape: [2], count: 4, mean: [1, -1], scale: [2, 0.5]}
    const array = {shape: [2, 2, 2], data: Float32Array.from([1, -1, 3, 0, 5, -2, -1, -1.5])}
    applyScaler(scaler, array)
    expect(Array.from(array.data)).toEqual([0, 0, 1, 2, 2, -2, -1, -1])
    expect(() => applyScaler(scaler, {shape: [3], data: new Float32Array(3)}, 'x.npy')).toThrow(/x\.npy: shape \(3\) does not end/)
  })

  it('round-trips through JSON and refuses a damaged file', () => {
    const file = path.join(work(), 'scaler.json')
    const scaler = {featureShape: [2, 1], count: 10, mean: [0.25, -3], scale: [1, 1e-3]}
    writeScaler(file, scaler)
    expect(readScaler(file)).toEqual(scaler)
    expect(readdirSync(work())).toEqual(['scaler.json'])
    writeFileSync(file, JSON.stringify({...scaler, mean: [1]}))
    expect(() => readScaler(file)).toThrow(/mean and scale must hold 2 values/)
    writeFileSync(file, JSON.stringify({...scaler, scale: [1, 0]}))
    expect(() => readScaler(file)).toThrow(/scale values must be positive/)
    writeFileSync(file, '{"featureShape": [2')
    expect(() => readScaler(file)).toThrow(/not a readable scaler/)
  })
})

describe('normalizeDirectory', () => {
  it('fits on train files only and writes standardised copies of train and test files with scaler.json', () => {
    const input = path.join(work(), 'features')
    mkdirSync(input)
    const train = [features(300, 1, 2, 3), features(200, 2, 2, 3)]
    writeNpy(path.join(input, 'train_0.npy'), train[0])
    writeNpy(path.join(input, 'train_1.npy'), train[1])
    // Test files from another distribution must not move the scaler.
    writeNpy(path.join(input, 'test_0.npy'), features(300, 3, 50, 30))
    const out = path.join(work(), 'normalized')
    mkdirSync(out)
    const result = normalizeDirectory(input, out)
    expect(result.train).toEqual(['train_0.npy', 'train_1.npy'])
    expect(readdirSync(out).sort()).toEqual(['scaler.json', 'test_0.npy', 'train_0.npy', 'train_1.npy'])
    const scaler = readScaler(path.join(out, 'scaler.json'))
    expect(scaler).toEqual(fitScaler([path.join(input, 'train_0.npy'), path.join(input, 'train_1.npy')]))
    const normalizedTrain = exactMoments([readNpy(path.join(out, 'train_0.npy')), readNpy(path.join(out, 'train_1.npy'))])
    normalizedTrain.mean.forEach((mean) => expect(Math.abs(mean)).toBeLessThan(1e-5))
    normalizedTrain.std.forEach((std) => expect(std).toBeCloseTo(1, 5))
    const test = readNpy(path.join(input, 'test_0.npy'))
    applyScaler(scaler, test)
    expect(Array.from(readNpy(path.join(out, 'test_0.npy')).data)).toEqual(Array.from(test.data))
  })

  it('refuses a folder without train files', () => {
    writeNpy(path.join(work(), 'test_0.npy'), features(10, 1))
    expect(() => normalizeDirectory(work(), work())).toThrow(/no train\*\.npy feature files/)
  })
})

// The compiled stage, as the pipeline runs it (`npm test` builds first).
describe('normalize stage', () => {
  const stage = () =>
    spawnSync('node', [path.join(repoRoot, 'dist/stages/normalize.js'), '--features', path.join(work(), 'features'), '--out', path.join(work(), 'normalized')], {encoding: 'utf8'})

  it('writes the normalized folder, or nothing when a file does not fit', () => {
    mkdirSync(path.join(work(), 'features'))
    writeNpy(path.join(work(), 'features', 'train_0.npy'), features(50, 1))
    writeNpy(path.join(work(), 'features', 'test_0.npy'), features(50, 2))
    const ok = stage()
    expect(ok.stderr).toBe('')
    expect(ok.status).toBe(0)
    expect(readdirSync(path.join(work(), 'normalized')).sort()).toEqual(['scaler.json', 'test_0.npy', 'train_0.npy'])
    rmSync(path.join(work(), 'normalized'), {recursive: true})
    writeNpy(path.join(work(), 'features', 'test_1.npy'), {shape: [4, 5], data: new Float32Array(20)})
    const refused = stage()
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/test_1\.npy: shape \(4, 5\) does not end in the scaler's feature shape \(2, 3\)/)
    expect(readdirSync(work())).toEqual(['features'])
  })
})
