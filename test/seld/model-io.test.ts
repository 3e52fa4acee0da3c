import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {buildSeldnet, type ModelConfig} from '../../src/seld/model/model.js'
import {loadModel, loadTensors, loadWeightsInto, saveModel, saveTensors} from '../../src/seld/model/model-io.js'

const config: ModelConfig = {
  seqLen: 6, bins: 8, channels: 4, classes: 2, convFilters: 3, poolSizes: [2, 2], rnnUnits: 4, fnnUnits: 5,
  dropout: 0, lossWeights: [1, 50], aziOnly: false, lr: 0.01,
}

let root: string
beforeAll(async () => {
  await tf.setBackend('cpu')
  root = mkdtempSync(join(tmpdir(), 'seld-model-io-'))
})
afterAll(() => rmSync(root, {recursive: true, force: true}))

async function outputs(model: tf.LayersModel, x: tf.Tensor): Promise<number[][]> {
  const result = model.predict(x) as tf.Tensor[]
  const values = await Promise.all(result.map(async (t) => Array.from(await t.data())))
  tf.dispose(result)
  return values
}

async function trainOnce(model: tf.LayersModel) {
  const x = tf.randomNormal([2, config.seqLen, config.bins, config.channels], 0, 1, 'float32', 1)
  const sed = tf.randomUniform([2, config.seqLen, config.classes], 0, 1, 'float32', 2).round()
  const doa = tf.randomUniform([2, config.seqLen, 3 * config.classes], -1, 1, 'float32', 3)
  await model.trainOnBatch(x, [sed, doa])
  tf.dispose([x, sed, doa])
}

describe('saveModel and loadModel', () => {
  it('round-trips a trained SELDnet to a model.json + weights.bin folder with identical predictions', async () => {
    const model = buildSeldnet(config)
    await trainOnce(model)
    const dir = join(root, 'best')
    await saveModel(model, dir)
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin'])
    const loaded = await loadModel(dir)
    const x = tf.randomNormal([3, config.seqLen, config.bins, config.channels], 0, 1, 'float32', 4)
    const [before, after] = [await outputs(model, x), await outputs(loaded, x)]
    expect(after[0]).toEqual(before[0])
    expect(after[1]).toEqual(before[1])
    // Nothing temporary is left beside the folder.
    expect(readdirSync(root)).toEqual(['best'])
  })

  it('replaces an existing folder completely', async () => {
    const dir = join(root, 'replace')
    await saveModel(buildSeldnet(config), dir)
    writeFileSync(join(dir, 'stale.txt'), 'x')
    await saveModel(buildSeldnet(config), dir)
    expect(existsSync(join(dir, 'stale.txt'))).toBe(false)
  })

  it('fails clearly on a folder without a model or with truncated weights', async () => {
    await expect(loadModel(join(root, 'nothing'))).rejects.toThrow(/nothing: no model.json/)
    const dir = join(root, 'truncated')
    await saveModel(buildSeldnet(config), dir)
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(12))
    await expect(loadModel(dir)).rejects.toThrow(/weights hold 12 bytes/)
  })
})

describe('loadWeightsInto and saved optimizer state', () => {
  it('restores weights and Adam state so the next training step matches an uninterrupted run', async () => {
    const original = buildSeldnet(config)
    await trainOnce(original)
    const dir = join(root, 'checkpoint')
    await saveModel(original, join(dir, 'model'))
    await saveTensors(await original.optimizer.getWeights(), dir, 'optimizer')

    const restored = buildSeldnet(config)
    await loadWeightsInto(restored, join(dir, 'model'))
    await restored.optimizer.setWeights(loadTensors(dir, 'optimizer'))
    await trainOnce(original)
    await trainOnce(restored)
    const x = tf.randomNormal([1, config.seqLen, config.bins, config.channels], 0, 1, 'float32', 5)
    const [a, b] = [await outputs(original, x), await outputs(restored, x)]
    for (let i = 0; i < 2; i++) a[i].forEach((value, j) => expect(b[i][j]).toBeCloseTo(value, 5))
    // A fresh optimizer (no Adam moments) would take a different second step.
    const fresh = buildSeldnet(config)
    await loadWeightsInto(fresh, join(dir, 'model'))
    await trainOnce(fresh)
    const c = await outputs(fresh, x)
    expect(c[1].some((value, j) => Math.abs(value - a[1][j]) > 1e-4)).toBe(true)
  })

  it('refuses weights of another architecture', async () => {
    const dir = join(root, 'other')
    await saveModel(buildSeldnet({...config, rnnUnits: 3}), dir)
    await expect(loadWeightsInto(buildSeldnet(config), dir)).rejects.toThrow(/do not fit this model's architecture/)
  })
})
