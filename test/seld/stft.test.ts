import {describe, expect, it} from 'vitest'
import {frameCount} from '../../src/seld/features/datasets.js'
import {hannWindow, phase, Stft} from '../../src/seld/features/stft.js'
import {readConformance} from '../conformance.js'


interface StftCase {
  sample_rate: number
  nfft: number
  hop: number
  channels: number
  nb_frames: number
  pcm_int16_interleaved: number[]
  expected_re: number[][][]
  expected_im: number[][][]
}

describe('hannWindow', () => {
  it('is numpy hanning: symmetric, zero at both ends, one in the middle of an odd window', () => {
    const w = hannWindow(5)
    ;[0, 0.5, 1, 0.5, 0].forEach((value, i) => expect(w[i]).toBeCloseTo(value, 15))
    const even = hannWindow(512)
    for (let i = 0; i < 256; i++) expect(even[i]).toBeCloseTo(even[511 - i], 14)
    expect(even[0]).toBe(0)
  })
})

describe('Stft', () => {
  for (const file of ['stft_a_nfft512_4ch.json', 'stft_a_nfft1024_8ch.json']) {
    it(`matches the published spectrogram of ${file}`, () => {
      const vector = readConformance<StftCase>(file)
      const stft = new Stft(vector.nfft)
      const samples = Int16Array.from(vector.pcm_int16_interleaved)
      const pcm = {sampleRate: vector.sample_rate, channels: vector.channels, samples}
      const frames = frameCount(samples.length / vector.channels, vector.nfft)
      expect(frames).toBe(vector.nb_frames)
      expect(stft.hop).toBe(vector.hop)
      const features = stft.magnitudePhase(pcm, frames)
      const {bins} = stft
      const channels = vector.channels

      let largest = 0
      for (const frame of vector.expected_re.keys()) {
        for (let k = 0; k < bins; k++) {
          for (let c = 0; c < channels; c++) largest = Math.max(largest, Math.hypot(vector.expected_re[frame][k][c], vector.expected_im[frame][k][c]))
        }
      }
      let worstMagnitude = 0
      let worstPhase = 0
      let phasesCompared = 0
      for (let f = 0; f < frames; f++) {
        for (let k = 0; k < bins; k++) {
          for (let c = 0; c < channels; c++) {
            const re = vector.expected_re[f][k][c]
            const im = vector.expected_im[f][k][c]
            const magnitude = Math.hypot(re, im)
            const base = (f * bins + k) * 2 * channels
            worstMagnitude = Math.max(worstMagnitude, Math.abs(features[base + c] - magnitude))
            if (magnitude > 1e-3 * largest) {
              const difference = Math.abs(features[base + channels + c] - Math.atan2(im, re))
              worstPhase = Math.max(worstPhase, Math.min(difference, 2 * Math.PI - difference))
              phasesCompared++
            }
          }
        }
      }
      expect(worstMagnitude).toBeLessThanOrEqual(1e-5 * largest)
      expect(worstPhase).toBeLessThanOrEqual(1e-3)
      expect(phasesCompared).toBeGreaterThan(frames * bins)
    })
  }

  it('pads with zeros past the end and cuts to the frames asked for', () => {
    const stft = new Stft(8)
    const samples = new Int16Array(20).map((_, i) => (i * 997) % 2000 - 1000)
    const pcm = {sampleRate: 8000, channels: 1, samples}
    const own = stft.magnitudePhase(pcm, frameCount(20, 8))
    const padded = stft.magnitudePhase(pcm, 6)
    const perFrame = stft.bins * 2
    expect(frameCount(20, 8)).toBe(3)
    expect(Array.from(padded.subarray(0, own.length))).toEqual(Array.from(own))
    // Frame 5 starts at sample 20, past the end: all silence.
    expect(Array.from(padded.subarray(5 * perFrame, 5 * perFrame + stft.bins))).toEqual(new Array(stft.bins).fill(0))
    // Frame 4 covers samples 16..23: only 16..19 exist, so it equals the STFT of those four samples followed by zeros.
    const tail = new Int16Array(8)
    tail.set(samples.subarray(16))
    const alone = stft.magnitudePhase({sampleRate: 8000, channels: 1, samples: tail}, 1)
    expect(Array.from(padded.subarray(4 * perFrame, 5 * perFrame))).toEqual(Array.from(alone))
    const cut = stft.magnitudePhase(pcm, 2)
    expect(Array.from(cut)).toEqual(Array.from(own.subarray(0, 2 * perFrame)))
  })

  it('keeps channels apart: a channel of silence stays silent whatever the others hold', () => {
    const stft = new Stft(16)
    const samples = new Int16Array(64 * 2)
    for (let i = 0; i < 64; i++) samples[2 * i] = Math.round(10000 * Math.sin(i))
    const features = stft.magnitudePhase({sampleRate: 8000, channels: 2, samples}, frameCount(64, 16))
    let left = 0
    let right = 0
    for (let base = 0; base < features.length; base += 4) {
      left += features[base]
      right += features[base + 1]
    }
    expect(left).toBeGreaterThan(0)
    // Channels share one complex FFT: only rounding may leak across.
    expect(right).toBeLessThan(1e-12 * left)
  })

  it('gives every channel of a multichannel recording the features it has alone, odd channel counts included', () => {
    const stft = new Stft(64)
    const length = 1000
    const channels = 3
    const samples = new Int16Array(length * channels)
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(i * (0.01 + (i % channels) * 0.07)) + ((i * 7919) % 1000) - 500)
    const frames = frameCount(length, 64)
    const together = stft.magnitudePhase({sampleRate: 8000, channels, samples}, frames)
    let largest = 0
    for (let c = 0; c < channels; c++) {
      const mono = stft.magnitudePhase({sampleRate: 8000, channels: 1, samples: samples.filter((_, i) => i % channels === c)}, frames)
      for (let f = 0; f < frames; f++) {
        for (let k = 0; k < stft.bins; k++) {
          const magnitude = mono[(f * stft.bins + k) * 2]
          const at = (f * stft.bins + k) * 2 * channels + c
          largest = Math.max(largest, magnitude)
          expect(together[at]).toBeCloseTo(magnitude, 6)
          if (magnitude > 1e-3) {
            const difference = Math.abs(together[at + channels] - mono[(f * stft.bins + k) * 2 + 1])
            expect(Math.min(difference, 2 * Math.PI - difference)).toBeLessThan(1e-5)
          }
        }
      }
    }
    expect(largest).toBeGreaterThan(0.1)
  })

  it('computes phases within 2e-8 rad of Math.atan2, on the axes and around the circle', () => {
    const points: Array<[number, number]> = [[1, 0], [-1, 0], [0, 1], [0, -1], [0, 0], [-1, 1e-12], [-1, -1e-12], [3, 4], [-3, -4]]
    for (let i = 0; i < 10000; i++) {
      const angle = (i / 10000) * 2 * Math.PI - Math.PI
      const radius = 10 ** ((i % 13) - 6)
      points.push([radius * Math.cos(angle), radius * Math.sin(angle)])
    }
    for (const [re, im] of points) {
      const difference = Math.abs(phase(re, im, Math.hypot(re, im)) - Math.atan2(im, re))
      expect(Math.min(difference, 2 * Math.PI - difference)).toBeLessThan(2e-8)
    }
  })

  it('refuses an nfft that is not a power of two', () => {
    expect(() => new Stft(500)).toThrow(/power of two/)
  })
})
