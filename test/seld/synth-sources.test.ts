import FFT from 'fft.js'
import {describe, expect, it} from 'vitest'
import {DCASE2016_CLASSES} from '../../src/seld/features/datasets.js'
import {ProceduralBank} from '../../src/seld/synth/sources.js'

const FS = 44100
const CLASSES = Object.keys(DCASE2016_CLASSES)
const bank = new ProceduralBank(CLASSES, 11, FS)

/**
 * A summary of a sound a simple classifier can use: mean and spread over 23 ms frames of the log energy in 24
 * log-spaced bands, and the log duration.
 */
function summary(sound: Float32Array): number[] {
  const size = 1024
  const bands = 24
  const edges = Array.from({length: bands + 1}, (_, b) => Math.round(2 * 256 ** (b / bands)))
  const fft = new FFT(size)
  const frames: number[][] = []
  for (let start = 0; start + size <= sound.length; start += size / 2) {
    const frame = Float64Array.from({length: size}, (_, i) => sound[start + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size)))
    const spectrum = new Float64Array(2 * size)
    fft.realTransform(spectrum, frame)
    frames.push(Array.from({length: bands}, (_, b) => {
      let energy = 0
      for (let k = edges[b]; k < Math.max(edges[b] + 1, edges[b + 1]); k++) energy += spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2
      return Math.log10(energy + 1e-6)
    }))
  }
  const mean = Array.from({length: bands}, (_, b) => frames.reduce((sum, f) => sum + f[b], 0) / frames.length)
  const spread = Array.from({length: bands}, (_, b) => Math.sqrt(frames.reduce((sum, f) => sum + (f[b] - mean[b]) ** 2, 0) / frames.length))
  return [...mean, ...spread, Math.log(sound.length / FS)]
}

/** Bit-identical samples (vitest's deep equality is slow on long typed arrays). */
function identical(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

describe('procedural sound classes', () => {
  it('give each numbered instance one fixed sound, and different instances different sounds', () => {
    const again = new ProceduralBank(CLASSES, 11, FS)
    for (const name of CLASSES) {
      const sound = bank.instance(name, 5)
      expect(identical(again.instance(name, 5), sound), name).toBe(true)
      const others = [6, 7, 8].map((n) => bank.instance(name, n))
      expect(new Set([sound, ...others].map((s) => s.length)).size, name).toBeGreaterThan(1)
      for (const s of [sound, ...others]) {
        expect(s.length / FS, name).toBeGreaterThan(0.15)
        expect(s.length / FS, name).toBeLessThan(3)
        expect(s.every(Number.isFinite), name).toBe(true)
      }
    }
    expect(identical(new ProceduralBank(CLASSES, 12, FS).instance('speech', 5), bank.instance('speech', 5))).toBe(false)
  })

  it('are distinct families: a nearest-centroid classifier on band energies names unseen instances', () => {
    const train = CLASSES.flatMap((name) => bank.numbers(name, 'train').slice(0, 15).map((n) => ({name, features: summary(bank.instance(name, n))})))
    const test = CLASSES.flatMap((name) => bank.numbers(name, 'test').slice(0, 6).map((n) => ({name, features: summary(bank.instance(name, n))})))
    const dims = train[0].features.length
    const mean = Array.from({length: dims}, (_, d) => train.reduce((sum, t) => sum + t.features[d], 0) / train.length)
    const scale = Array.from({length: dims}, (_, d) => Math.sqrt(train.reduce((sum, t) => sum + (t.features[d] - mean[d]) ** 2, 0) / train.length) || 1)
    const standard = (features: number[]) => features.map((v, d) => (v - mean[d]) / scale[d])
    const centroids = new Map(CLASSES.map((name) => {
      const members = train.filter((t) => t.name === name).map((t) => standard(t.features))
      return [name, Array.from({length: dims}, (_, d) => members.reduce((sum, m) => sum + m[d], 0) / members.length)]
    }))
    let correct = 0
    for (const {name, features} of test) {
      const z = standard(features)
      let best = ''
      let bestDistance = Infinity
      for (const [candidate, centroid] of centroids) {
        const distance = centroid.reduce((sum, c, d) => sum + (c - z[d]) ** 2, 0)
        if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
      }
      if (best === name) correct++
    }
    // Chance is 1/11; the CRNN sees far more than these summaries.
    expect(correct / test.length).toBeGreaterThan(0.9)
  })
})
