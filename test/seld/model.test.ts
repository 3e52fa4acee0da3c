import {beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/model/backend.js'
import {buildSeldnet, compileSeldnet, type ModelConfig} from '../../src/seld/model/model.js'

const config: ModelConfig = {
  seqLen: 8,
  bins: 16,
  channels: 4,
  classes: 3,
  convFilters: 4,
  poolSizes: [4, 2],
  rnnUnits: [5, 6],
  fnnUnits: 7,
  dropout: 0.1,
  lossWeights: [1, 50],
  aziOnly: false,
  lr: 0.01,
}

function batch(seed: number) {
  const x = tf.randomNormal([2, config.seqLen, config.bins, config.channels], 0, 1, 'float32', seed)
  const sed = tf.cast(tf.greater(tf.randomUniform([2, config.seqLen, config.classes], 0, 1, 'float32', seed + 1), 0.5), 'float32')
  const doa = tf.randomUniform([2, config.seqLen, 3 * config.classes], -1, 1, 'float32', seed + 2)
  return {x, y: [sed, doa]}
}

describe('buildSeldnet', () => {
  beforeAll(async () => {
    await initBackend('wasm', () => {})
  })

  it('has the published layer sequence with sizes from the config', () => {
    const model = buildSeldnet(config)
    expect(model.inputs[0].shape).toEqual([null, 8, 16, 4])
    expect(model.outputs.map((o) => o.shape)).toEqual([
      [null, 8, 3],
      [null, 8, 9],
    ])
    const convs = model.layers.filter((l) => l.getClassName() === 'SeldConv2D')
    expect(convs.map((l) => (l.getConfig() as {filters: number}).filters)).toEqual([4, 4])
    const pools = model.layers.filter((l) => l.getClassName() === 'MaxPooling2D')
    expect(pools.map((l) => (l.getConfig() as {poolSize: number[]}).poolSize)).toEqual([
      [1, 4],
      [1, 2],
    ])
    expect(model.layers.filter((l) => l.getClassName() === 'SeldBatchNormalization')).toHaveLength(2)
    const rnns = model.layers.filter((l) => l.getClassName() === 'Bidirectional')
    expect(rnns.map((l) => (l as unknown as {forwardLayer: tf.layers.Layer}).forwardLayer.getClassName())).toEqual(['SeldGRU', 'SeldGRU'])
    expect(rnns.map((l) => l.outputShape)).toEqual([
      [null, 8, 5],
      [null, 8, 6],
    ])
    // Reshape to time × (pooled bins · filters) = 8 × (2 · 4).
    expect(model.layers.find((l) => l.getClassName() === 'Reshape')!.outputShape).toEqual([null, 8, 8])
    const azi = buildSeldnet({...config, aziOnly: true})
    expect(azi.outputs[1].shape).toEqual([null, 8, 6])
  })

  it('trains: the weighted loss falls on a repeated batch', async () => {
    const model = buildSeldnet({...config, dropout: 0})
    const {x, y} = batch(1)
    const first = (await model.trainOnBatch(x, y)) as number[]
    let last = first
    for (let i = 0; i < 30; i++) last = (await model.trainOnBatch(x, y)) as number[]
    expect(first).toHaveLength(3)
    expect(first[0]).toBeCloseTo(first[1] + first[2], 4)
    expect(last[0]).toBeLessThan(first[0] * 0.8)
  })

  it('saves and loads again with the same predictions', async () => {
    const model = buildSeldnet(config)
    const {x} = batch(2)
    let artifacts: tf.io.ModelArtifacts | undefined
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}}
    }))
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!))
    compileSeldnet(loaded, config)
    const [sedA, doaA] = model.predict(x) as tf.Tensor[]
    const [sedB, doaB] = loaded.predict(x) as tf.Tensor[]
    expect(Array.from(await sedB.data())).toEqual(Array.from(await sedA.data()))
    expect(Array.from(await doaB.data())).toEqual(Array.from(await doaA.data()))
  })

  it('rejects sizes that do not fit together', () => {
    expect(() => buildSeldnet({...config, bins: 12})).toThrow(/bins \(12\) must be divisible by the product of poolSizes \(8\)/)
    expect(() => buildSeldnet({...config, classes: 0})).toThrow(/classes must be a positive number/)
    expect(() => buildSeldnet({...config, dropout: 1})).toThrow(/dropout/)
  })
})
