import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {computeFeatures} from '../../src/seld/features/features.js'
import {channelPairs, featureShape, featureSpec, type FeatureSpec} from '../../src/seld/features/feature-kinds.js'
import {melFilterbank, hzToMel, melToHz, powerToDb} from '../../src/seld/features/mel.js'
import {readNpy} from '../../src/seld/io/npy.js'
import {floatToPcm16, readWav, type Pcm16} from '../../src/seld/io/wav.js'

// Expected values computed once with numpy from the DCASE baselines' recipe by test/fixtures/features/make-fixture.py.
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'features')
const SAMPLE_RATE = 44100
const NFFT = 512
const BANDS = 32

function expectClose(actual: Float32Array | Float64Array, expected: Float32Array | Float64Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  let at = -1
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]))
    if (error > worst) [worst, at] = [error, i]
  }
  expect(worst, `largest difference at ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThan(tolerance)
}

/** Deterministic white noise in [−1, 1). */
function noise(samples: number, seed: number): Float64Array {
  let state = seed
  return Float64Array.from({length: samples}, () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1)
}

/** First-order Ambisonics (ACN W, Y, Z, X, SN3D) of one plane wave of `signal` from the given direction. */
function planeWave(signal: Float64Array, azimuthDegrees: number, elevationDegrees: number): Pcm16 {
  const [a, e] = [(azimuthDegrees * Math.PI) / 180, (elevationDegrees * Math.PI) / 180]
  const gains = [1, Math.sin(a) * Math.cos(e), Math.sin(e), Math.cos(a) * Math.cos(e)]
  return floatToPcm16(gains.map((gain) => signal.map((value) => 0.5 * gain * value)), SAMPLE_RATE)
}

describe('mel filterbank', () => {
  it("is librosa's Slaney filterbank", () => {
    const expected = readNpy(path.join(fixtures, 'mel_filterbank.npy'))
    expect(expected.shape).toEqual([BANDS, NFFT / 2 + 1])
    const dense = new Float64Array(BANDS * (NFFT / 2 + 1))
    melFilterbank(SAMPLE_RATE, NFFT, BANDS).forEach((band, m) => band.weights.forEach((w, i) => (dense[m * (NFFT / 2 + 1) + band.first + i] = w)))
    expectClose(dense, expected.data, 1e-6)
  })

  it('has a mel scale linear to 1 kHz and logarithmic above, and a floored dB', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12)
    expect(hzToMel(500)).toBeCloseTo(7.5, 12)
    // 27 mels per factor 6.4 above 1 kHz.
    expect(hzToMel(6400)).toBeCloseTo(42, 12)
    expect(melToHz(hzToMel(12345))).toBeCloseTo(12345, 8)
    expect(powerToDb(100)).toBe(20)
    expect(powerToDb(0)).toBe(-100)
  })
})

describe('feature kinds', () => {
  const pcm = readWav(path.join(fixtures, 'foa.wav'))
  const spec = (kind: FeatureSpec['kind']) => featureSpec(NFFT, kind, BANDS)

  it('logmel_iv matches the DCASE 2021 recipe: log-mel of the 4 channels, then the unit intensity vector in mel bands', () => {
    const expected = readNpy(path.join(fixtures, 'logmel_iv.npy'))
    const features = computeFeatures(pcm, spec('logmel_iv'))
    expect(features.shape).toEqual(expected.shape)
    expect(features.shape).toEqual([6, BANDS, 7])
    expectClose(features.data, expected.data, 2e-5)
  })

  it('logmel_gcc matches the baselines: log-mel of every channel, then GCC-PHAT lags of every pair', () => {
    const expected = readNpy(path.join(fixtures, 'logmel_gcc.npy'))
    const features = computeFeatures(pcm, spec('logmel_gcc'))
    expect(features.shape).toEqual([6, BANDS, 4 + 6])
    expectClose(features.data, expected.data, 2e-5)
  })

  it('the intensity vector of a plane wave points at its source (channels Y, Z, X)', () => {
    for (const [azimuth, elevation] of [[30, 0], [-100, 40], [170, -25]]) {
      const features = computeFeatures(planeWave(noise(4096, 7), azimuth, elevation), spec('logmel_iv'))
      const [frames, bands, width] = features.shape
      const sum = [0, 0, 0]
      for (let i = 0; i < frames * bands; i++) for (let axis = 0; axis < 3; axis++) sum[axis] += features.data[i * width + 4 + axis]
      const [y, z, x] = sum
      expect((Math.atan2(y, x) * 180) / Math.PI).toBeCloseTo(azimuth, 1)
      expect((Math.atan2(z, Math.hypot(x, y)) * 180) / Math.PI).toBeCloseTo(elevation, 1)
    }
  })

  it('GCC-PHAT peaks at the delay between two channels', () => {
    const source = noise(4096 + 16, 3)
    for (const delay of [0, 5, -9]) {
      const channels = [source.subarray(8, 8 + 4096), source.subarray(8 - delay, 8 - delay + 4096)]
      const features = computeFeatures(floatToPcm16(channels.map((c) => Float64Array.from(c, (v) => 0.5 * v)), SAMPLE_RATE), spec('logmel_gcc'))
      const [frames, bands, width] = features.shape
      expect(width).toBe(3)
      for (let f = 0; f < frames; f++) {
        const lags = Array.from({length: bands}, (_, m) => features.data[(f * bands + m) * width + 2])
        // Channel 1 lags channel 0 by `delay` samples: the cross-correlation peaks at lag +delay (index delay + bands/2).
        expect(lags.indexOf(Math.max(...lags)) - bands / 2).toBe(delay)
      }
    }
  })

  it('gives the same frames whether a recording is computed whole or from a slice, as predict computes it', () => {
    for (const kind of ['logmel_iv', 'logmel_gcc'] as const) {
      const whole = computeFeatures(pcm, spec(kind))
      const frameValues = whole.shape[1] * whole.shape[2]
      const hop = NFFT / 2
      const slice = {...pcm, samples: pcm.samples.subarray(2 * hop * pcm.channels, (3 * hop + NFFT) * pcm.channels)}
      const part = computeFeatures(slice, spec(kind), 2)
      expect(part.data).toEqual(whole.data.subarray(2 * frameValues, 4 * frameValues))
    }
  })

  it('refuses a kind that does not fit the recording, naming it', () => {
    const eight = floatToPcm16(Array.from({length: 8}, (_, c) => noise(2048, c + 1)), SAMPLE_RATE)
    expect(() => computeFeatures(eight, spec('logmel_iv'), undefined, 'mic.wav')).toThrow('mic.wav: logmel_iv features need first-order Ambisonics (4 channels W, Y, Z, X), got 8 channels')
    expect(featureShape(spec('logmel_gcc'), 8)).toEqual([BANDS, 8 + 28])
    expect(channelPairs(3)).toEqual([[0, 1], [0, 2], [1, 2]])
    expect(() => featureShape(featureSpec(NFFT, 'logmel_gcc', 31), 4)).toThrow('mel_bands must be even')
    expect(() => featureSpec(NFFT, 'mfcc')).toThrow("features.kind must be one of stft, logmel_iv, logmel_gcc, got 'mfcc'")
    expect(featureShape(featureSpec(NFFT), 4)).toEqual([NFFT / 2, 8])
  })
})
