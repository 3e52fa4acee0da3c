// Shared by the kernel and GRU tests: deterministic inputs and a float comparison.
import {expect} from 'vitest'

/** Reproducible values in [−scale, scale) from a linear congruential generator. */
export function random(shape: number[], seed: number, scale = 1): Float32Array {
  let state = seed
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1))
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648
    values[i] = (state / 1073741824 - 1) * scale
  }
  return values
}

/** Every value within `tolerance`, relative to 1 + |expected|. */
export function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])))
  expect(worst).toBeLessThan(tolerance)
}
