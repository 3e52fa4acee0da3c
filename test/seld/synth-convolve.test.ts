import {describe, expect, it} from 'vitest'
import {convolveAdd, convolveMany} from '../../src/seld/synth/convolve.js'
import {Random} from '../../src/seld/synth/random.js'

function random(length: number, seed: string, density = 1): Float32Array {
  const rng = Random.from('convolve-test', seed)
  return Float32Array.from({length}, () => (rng.next() < density ? rng.normal() : 0))
}

/** The textbook O(n·m) sum. */
function reference(signal: Float32Array, kernel: Float32Array): Float64Array {
  const out = new Float64Array(signal.length + kernel.length - 1)
  for (let i = 0; i < signal.length; i++) for (let k = 0; k < kernel.length; k++) out[i + k] += signal[i] * kernel[k]
  return out
}

function maxError(actual: Float32Array, expected: Float64Array): number {
  let error = 0
  for (let i = 0; i < expected.length; i++) error = Math.max(error, Math.abs(actual[i] - expected[i]))
  return error
}

describe('convolution of events with room responses', () => {
  it('matches the direct sum for long (FFT overlap-add) and short kernels, with an odd number of channels', () => {
    for (const [length, taps] of [[5000, 700], [30000, 2000], [300, 1500]]) {
      const signal = random(length, `s${length}`)
      const kernels = [random(taps, 'a'), random(taps, 'b'), random(taps, 'c'), random(40, 'short')]
      const outputs = convolveMany(signal, kernels)
      kernels.forEach((kernel, c) => {
        expect(outputs[c].length).toBe(length + kernel.length - 1)
        expect(maxError(outputs[c], reference(signal, kernel)), `${length} samples ∗ ${kernel.length} taps`).toBeLessThan(1e-3)
      })
    }
  })

  it('adds into outputs at an offset, scaled, dropping what falls outside them', () => {
    const signal = random(3000, 'offset')
    const kernels = [random(900, 'x'), random(900, 'y', 0.02)]
    for (const offset of [-500, 0, 2500]) {
      const outputs = [new Float32Array(4000).fill(1), new Float32Array(4000).fill(1)]
      convolveAdd(signal, kernels, outputs, offset, 0.5)
      kernels.forEach((kernel, c) => {
        const full = reference(signal, kernel)
        const expected = Float64Array.from({length: 4000}, (_, i) => 1 + 0.5 * (full[i - offset] ?? 0))
        expect(maxError(outputs[c], expected), `offset ${offset}, kernel ${c}`).toBeLessThan(1e-3)
      })
    }
  })
})
