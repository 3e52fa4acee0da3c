import {beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend} from '../../src/seld/model/backend.js'
import {buildSeldnet, type ModelConfig} from '../../src/seld/model/model.js'
import {
  accdoaLoss, accdoaTargets, accdoaToActivityDoa, adpitLoss, adpitTargets, multiAccdoaToActivityDoa, outputKindOf, toActivityDoa,
} from '../../src/seld/model/outputs.js'
import {predictionWidths} from '../../src/seld/train/recordings.js'
import {trainStep} from '../../src/seld/train/train-step.js'

const config: ModelConfig = {
  seqLen: 8, bins: 8, channels: 4, classes: 2, convFilters: 4, poolSizes: [2, 2], rnnUnits: 6, fnnUnits: 6, dropout: 0,
  lossWeights: [1, 50], aziOnly: false, lr: 0.01,
}

beforeAll(async () => {
  await initBackend('wasm', () => {})
})

/** One frame of K = 2 classes laid out as the outputs are: x of every class, then y, then z. */
const frame = (vectors: number[][]) => Float32Array.from([0, 1, 2].flatMap((axis) => vectors.map((v) => v[axis])))

describe('ACCDOA conversion', () => {
  it('turns each class vector into its length (the activity, at most 1) and its direction', () => {
    const {sed, doa} = accdoaToActivityDoa(frame([[0.3, 0, 0.4], [0, 0, 0]]), 1, 2)
    expect(Array.from(sed)).toEqual([Math.fround(0.5), 0])
    expect(Array.from(doa).map((v) => +v.toFixed(6))).toEqual([0.6, 0, 0, 0, 0.8, 0])
    const long = accdoaToActivityDoa(frame([[0.9, 0.9, 0.9], [0, -0.2, 0]]), 1, 2)
    expect(Array.from(long.sed).map((v) => +v.toFixed(6))).toEqual([1, 0.2])
    expect(+long.doa[0].toFixed(6)).toBe(+(1 / Math.sqrt(3)).toFixed(6))
    expect(Array.from(long.doa.filter((_, i) => i % 2 === 1))).toEqual([0, -1, 0])
  })

  it('targets are activity times direction', () => {
    const sed = Float32Array.from([1, 0])
    const doa = frame([[0.6, 0.8, 0], [1, 0, 0]])
    expect(Array.from(accdoaTargets(sed, doa, 1, 2)).map((v) => +v.toFixed(6))).toEqual([0.6, 0, 0.8, 0, 0, 0])
  })
})

describe('multi-ACCDOA conversion', () => {
  /** One frame of 3 tracks × 3 axes × 2 classes. */
  const tracks = (...perTrack: number[][][]) => Float32Array.from(perTrack.flatMap((vectors) => Array.from(frame(vectors))))

  it('takes the longest track, merged with the active tracks within 15 degrees of it', () => {
    const t = (degrees: number, length: number) => [length * Math.cos((degrees * Math.PI) / 180), length * Math.sin((degrees * Math.PI) / 180), 0]
    // Class 0: tracks at 0° (0.9), 10° (0.8) and 90° (0.7): the first two merge, the third is another direction.
    // Class 1: the longest at 0° (0.6) and one at 10° below the activity threshold (0.4): not merged.
    const values = tracks([t(0, 0.9), t(0, 0.6)], [t(10, 0.8), t(10, 0.4)], [t(90, 0.7), [0, 0, 0]])
    const {sed, doa} = multiAccdoaToActivityDoa(values, 1, 2)
    expect(Array.from(sed).map((v) => +v.toFixed(6))).toEqual([0.9, 0.6])
    // Mean of 0.9·(1, 0) and 0.8·(cos 10°, sin 10°), as a unit vector.
    const mean = [0.9 + 0.8 * Math.cos(Math.PI / 18), 0.8 * Math.sin(Math.PI / 18)]
    const angle = Math.atan2(mean[1], mean[0])
    expect(doa[0]).toBeCloseTo(Math.cos(angle), 6)
    expect(doa[2]).toBeCloseTo(Math.sin(angle), 6)
    expect([doa[1], doa[3], doa[5]]).toEqual([1, 0, 0])
  })

  it('gives the same frames as ACCDOA when every track says the same', () => {
    const single = frame([[0.1, 0.2, 0.3], [0, 0.7, 0]])
    const viaMulti = multiAccdoaToActivityDoa(Float32Array.from([...single, ...single, ...single]), 1, 2)
    const viaSingle = accdoaToActivityDoa(single, 1, 2)
    expect(Array.from(viaMulti.sed)).toEqual(Array.from(viaSingle.sed))
    for (let i = 0; i < 6; i++) expect(viaMulti.doa[i]).toBeCloseTo(viaSingle.doa[i], 6)
  })
})

describe('losses', () => {
  it('ACCDOA: the mean squared error over every value', () => {
    const loss = accdoaLoss(tf.tensor3d([[[1, 0, 0.5]]]), tf.tensor3d([[[0, 0, 0.5]]]))
    expect(loss.dataSync()[0]).toBeCloseTo(1 / 3, 6)
  })

  /** ADPIT target of one frame, one class: slots A0, B0, B1, C0, C1, C2, each (activity, x, y, z). */
  const adpit = (slots: Record<number, number[]>) => {
    const values = new Float32Array(6 * 4)
    for (const [slot, [x, y, z]] of Object.entries(slots)) values.set([1, x, y, z], Number(slot) * 4)
    return tf.tensor3d(values, [1, 1, 24])
  }
  /** Output of one frame, one class: 3 tracks of (x, y, z). */
  const output = (...vectors: number[][]) => tf.tensor3d(vectors.flat(), [1, 1, 9])

  it('ADPIT, one source (A0): every track is trained towards it', () => {
    const target = adpit({0: [1, 0, 0]})
    expect(adpitLoss(target, output([1, 0, 0], [1, 0, 0], [1, 0, 0])).dataSync()[0]).toBeCloseTo(0, 7)
    // One track off by 1 in one axis: 1 / 9.
    expect(adpitLoss(target, output([1, 0, 0], [0, 0, 0], [1, 0, 0])).dataSync()[0]).toBeCloseTo(1 / 9, 6)
  })

  it('ADPIT, two sources of a class (B0, B1): the best of the 6 assignments, one of them duplicated', () => {
    const target = adpit({1: [1, 0, 0], 2: [0, 1, 0]})
    // B1 B0 B1 matches exactly.
    expect(adpitLoss(target, output([0, 1, 0], [1, 0, 0], [0, 1, 0])).dataSync()[0]).toBeCloseTo(0, 7)
    // All three tracks on B0: the best assignment (B0 B0 B1) misses B1 on the last track by 2 squared units over 9 values.
    expect(adpitLoss(target, output([1, 0, 0], [1, 0, 0], [1, 0, 0])).dataSync()[0]).toBeCloseTo(2 / 9, 6)
  })

  it('ADPIT, three sources (C0, C1, C2): the best of the 6 orders', () => {
    const target = adpit({3: [1, 0, 0], 4: [0, 1, 0], 5: [0, 0, 1]})
    expect(adpitLoss(target, output([0, 0, 1], [1, 0, 0], [0, 1, 0])).dataSync()[0]).toBeCloseTo(0, 7)
    expect(adpitLoss(target, output([0, 0, 0], [0, 0, 0], [0, 0, 0])).dataSync()[0]).toBeCloseTo(3 / 9, 6)
  })

  it('ADPIT targets of the 2018 labels fill slot A0 only; the loss then is the MSE against A0 on every track, with one gradient', () => {
    const sed = Float32Array.from([1, 0])
    const doa = frame([[0, 0.6, 0.8], [1, 0, 0]])
    const target = adpitTargets(sed, doa, 1, 2)
    // Slot A0: activities, then x, y, z of each class (a direction is kept for an inactive class; the loss multiplies
    // it by the activity); the 5 other slots are zero.
    expect(Array.from(target.subarray(0, 8)).map((v) => +v.toFixed(6))).toEqual([1, 0, 0, 1, 0.6, 0, 0.8, 0])
    expect(target.subarray(8).every((v) => v === 0)).toBe(true)
    const out = tf.tensor3d(Float32Array.from({length: 18}, (_, i) => ((i * 7) % 5) / 5 - 0.4), [1, 1, 18])
    const targetTensor = tf.tensor3d(target, [1, 1, 48])
    const replicated = tf.tensor3d(Float32Array.from([...accdoaTargets(sed, doa, 1, 2), ...accdoaTargets(sed, doa, 1, 2), ...accdoaTargets(sed, doa, 1, 2)]), [1, 1, 18])
    expect(adpitLoss(targetTensor, out).dataSync()[0]).toBeCloseTo(accdoaLoss(replicated, out).dataSync()[0], 6)
    // The 13 assignments tie here; the gradient is that of one of them, not 13 times it.
    const gradient = tf.grad((o: tf.Tensor) => adpitLoss(targetTensor, o))(out)
    const expected = tf.grad((o: tf.Tensor) => accdoaLoss(replicated, o))(out)
    const [g, e] = [gradient.dataSync(), expected.dataSync()]
    for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(e[i], 6)
  })
})

describe('output presets in the network', () => {
  it('builds each preset with its output layers, and predictions read them alike', () => {
    const shapes = {seldnet: [[null, 8, 2], [null, 8, 6]], accdoa: [[null, 8, 6]], multi_accdoa: [[null, 8, 18]]}
    for (const kind of ['seldnet', 'accdoa', 'multi_accdoa'] as const) {
      const model = buildSeldnet({...config, output: kind})
      expect(outputKindOf(model)).toBe(kind)
      expect(model.outputs.map((o) => o.shape)).toEqual(shapes[kind])
      expect(predictionWidths(model)).toEqual({classes: 2, doaWidth: 6})
    }
    expect(() => buildSeldnet({...config, output: 'accdoa', aziOnly: true})).toThrow('the accdoa output needs x, y and z: set azi_only to false')
    expect(() => buildSeldnet({...config, output: 'dcase' as never})).toThrow("output must be one of seldnet, accdoa, multi_accdoa, got 'dcase'")
    const renamed = buildSeldnet(config)
    renamed.outputNames.splice(0, 2, 'a', 'b')
    expect(outputKindOf(renamed)).toBe('seldnet')
    const other = buildSeldnet({...config, output: 'accdoa'})
    other.outputNames.splice(0, 1, 'c')
    expect(() => outputKindOf(other)).toThrow('a model with outputs c is none of the output presets (seldnet, accdoa, multi_accdoa)')
    const raw = frame([[0.3, 0, 0.4], [0, 0, 0]])
    expect(toActivityDoa('seldnet', [Float32Array.of(0.5, 0), raw], 1, 2)).toEqual({sed: Float32Array.of(0.5, 0), doa: raw})
  })

  it('trains every preset with its loss: the loss falls on a batch learnt repeatedly', async () => {
    const size = 2
    const frames = size * config.seqLen
    const batch = {
      size,
      x: Float32Array.from({length: frames * config.bins * config.channels}, (_, i) => Math.sin(i * 0.37)),
      sed: Float32Array.from({length: frames * 2}, (_, i) => (i % 3 === 0 ? 1 : 0)),
      doa: Float32Array.from({length: frames * 6}, (_, i) => [0.6, 0.8, 0][Math.floor(i / 2) % 3]),
    }
    for (const kind of ['seldnet', 'accdoa', 'multi_accdoa'] as const) {
      const model = buildSeldnet({...config, output: kind})
      const first = await trainStep(model, batch, config.seqLen, config.bins, config.channels)
      expect(first).toHaveLength(kind === 'seldnet' ? 3 : 1)
      let last = first
      const tensors: number[] = []
      for (let step = 0; step < 15; step++) {
        last = await trainStep(model, batch, config.seqLen, config.bins, config.channels)
        tensors.push(tf.memory().numTensors)
      }
      expect(last[0], kind).toBeLessThan(0.8 * first[0])
      // No tensor outlives its step.
      expect(new Set(tensors).size, kind).toBe(1)
    }
  })
})
