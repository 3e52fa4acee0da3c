import FFT from 'fft.js'
import type {Pcm16} from '../io/wav.js'

/** Symmetric Hann window of n samples, as numpy's `hanning(n)`: 0.5 − 0.5·cos(2πi/(n−1)). */
export function hannWindow(n: number): Float64Array {
  if (n === 1) return Float64Array.of(1)
  const window = new Float64Array(n)
  for (let i = 0; i < n; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))
  return window
}

// atan(u) ≈ u·P(u²) on [−1, 1], a least-squares fit at Chebyshev nodes: error below 1e-8 rad.
const [A0, A1, A2, A3, A4, A5, A6, A7, A8] = [
  0.9999999055457102, -0.33332657852595715, 0.19986537489138215, -0.14164333375083923, 0.10507319786908981,
  -0.0724795066208227, 0.03989956003854984, -0.01445869706717599, 0.002468246624644273,
]

/**
 * The angle of re + i·im whose magnitude is already known, within 2e-8 rad of Math.atan2 (far below the float32
 * resolution phases are stored at). Math.atan2 took a quarter of the spectrogram's time, and the usual polynomial
 * approximations branch on the octant, which random phases mispredict; the half-angle identity
 * atan2(y, |x|) = 2·atan(y / (r + |x|)) keeps the argument within [−1, 1] without them.
 */
export function phase(re: number, im: number, magnitude: number): number {
  const denominator = magnitude + Math.abs(re)
  const u = denominator > 0 ? im / denominator : 0
  const s = u * u
  const half = u * (A0 + s * (A1 + s * (A2 + s * (A3 + s * (A4 + s * (A5 + s * (A6 + s * (A7 + s * A8))))))))
  // For re < 0 reflect across the imaginary axis: π − angle above the real axis, −π − angle below it.
  const left = +(re < 0)
  const pi = im < 0 ? -Math.PI : Math.PI
  return 2 * half * (1 - 2 * left) + left * pi
}

/** Stores the magnitude of re + i·im at `at` and its phase `channels` values later. */
function store(features: Float32Array, at: number, channels: number, re: number, im: number): void {
  const magnitude = Math.sqrt(re * re + im * im)
  features[at] = magnitude
  features[at + channels] = phase(re, im, magnitude)
}

/**
 * The published SELDnet spectrogram: per channel, frames of nfft samples every nfft/2, samples scaled by 1/32768,
 * symmetric Hann window, orthonormal FFT (1/sqrt(nfft)), bins 0 … nfft/2 − 1. One instance owns its buffers, so
 * computing many frames allocates nothing per frame; it is not safe to share between concurrent users.
 *
 * Channels go through the FFT two at a time: one complex FFT of a + i·b gives the spectra of both real signals
 * (A[k] = (Z[k] + conj Z[N−k]) / 2, B[k] = (Z[k] − conj Z[N−k]) / 2i), a fifth faster than two real-input transforms.
 * An odd last channel uses the real-input transform.
 */
export class Stft {
  readonly hop: number
  readonly bins: number
  private readonly fft: FFT
  /** Hann window with the 1/32768 sample scale and the 1/sqrt(nfft) orthonormal scale folded in. */
  private readonly scaledWindow: Float64Array
  /** One windowed frame of a channel pair, interleaved as complex values (a real, b imaginary). */
  private readonly pair: Float64Array
  /** One windowed frame of a single channel. */
  private readonly single: Float64Array
  private readonly spectrum: Float64Array

  constructor(readonly nfft: number) {
    if (!Number.isInteger(nfft) || nfft < 4 || (nfft & (nfft - 1)) !== 0) throw new Error(`nfft must be a power of two of at least 4, got ${nfft}`)
    this.hop = nfft / 2
    this.bins = nfft / 2
    this.fft = new FFT(nfft)
    const scale = 1 / (32768 * Math.sqrt(nfft))
    this.scaledWindow = hannWindow(nfft).map((w) => w * scale)
    this.pair = new Float64Array(2 * nfft)
    this.single = new Float64Array(nfft)
    this.spectrum = new Float64Array(2 * nfft)
  }

  /**
   * Magnitude and phase of `frames` frames: a float32 array frames × bins × 2C (the C magnitudes, then the C phases,
   * of every bin). Frames reaching past the end of the recording see zeros, which pads it to a fixed length; fewer
   * frames than the recording holds cut it. `out`, when given, is filled instead of a new array.
   */
  magnitudePhase(pcm: Pcm16, frames: number, out?: Float32Array): Float32Array {
    const {nfft, hop, bins, pair, single, spectrum, scaledWindow} = this
    const channels = pcm.channels
    const samples = pcm.samples
    const length = Math.floor(samples.length / channels)
    const stride = 2 * channels
    const size = frames * bins * stride
    if (out && out.length !== size) throw new Error(`output holds ${out.length} values, ${frames} frames need ${size}`)
    const features = out ?? new Float32Array(size)
    for (let f = 0; f < frames; f++) {
      const start = f * hop
      const available = Math.max(0, Math.min(nfft, length - start))
      const rowBase = f * bins * stride
      let c = 0
      for (; c + 1 < channels; c += 2) {
        let index = start * channels + c
        for (let n = 0; n < available; n++, index += channels) {
          pair[2 * n] = samples[index] * scaledWindow[n]
          pair[2 * n + 1] = samples[index + 1] * scaledWindow[n]
        }
        pair.fill(0, 2 * available)
        this.fft.transform(spectrum, pair)
        let at = rowBase + c
        for (let k = 0; k < bins; k++, at += stride) {
          const mirror = k === 0 ? 0 : 2 * (nfft - k)
          const re = spectrum[2 * k]
          const im = spectrum[2 * k + 1]
          const mirrorRe = spectrum[mirror]
          const mirrorIm = spectrum[mirror + 1]
          store(features, at, channels, 0.5 * (re + mirrorRe), 0.5 * (im - mirrorIm))
          store(features, at + 1, channels, 0.5 * (im + mirrorIm), 0.5 * (mirrorRe - re))
        }
      }
      if (c < channels) {
        let index = start * channels + c
        for (let n = 0; n < available; n++, index += channels) single[n] = samples[index] * scaledWindow[n]
        single.fill(0, available)
        this.fft.realTransform(spectrum, single)
        let at = rowBase + c
        for (let k = 0; k < bins; k++, at += stride) store(features, at, channels, spectrum[2 * k], spectrum[2 * k + 1])
      }
    }
    return features
  }
}

/** Periodic Hann window of n samples, as scipy's `get_window('hann', n)` (librosa's default): 0.5 − 0.5·cos(2πi/n). */
export function periodicHannWindow(n: number): Float64Array {
  return Float64Array.from({length: n}, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n))
}

/**
 * The complex spectra of one frame of every channel, framed like the published features (frame f holds samples
 * f·nfft/2 … f·nfft/2 + nfft − 1, zeros past the end; no centre padding, so the frames stay those of the labels) but
 * windowed and scaled as the DCASE baselines' librosa STFT: samples / 32768, periodic Hann window, no FFT
 * normalisation, bins 0 … nfft/2 (Nyquist included). Buffers are reused: not safe to share between concurrent users.
 */
export class FrameSpectra {
  readonly hop: number
  /** nfft/2 + 1. */
  readonly bins: number
  private readonly fft: FFT
  private readonly window: Float64Array
  private readonly frame: Float64Array
  private readonly spectrum: Float64Array

  constructor(readonly nfft: number) {
    if (!Number.isInteger(nfft) || nfft < 4 || (nfft & (nfft - 1)) !== 0) throw new Error(`nfft must be a power of two of at least 4, got ${nfft}`)
    this.hop = nfft / 2
    this.bins = nfft / 2 + 1
    this.fft = new FFT(nfft)
    this.window = periodicHannWindow(nfft).map((w) => w / 32768)
    this.frame = new Float64Array(nfft)
    this.spectrum = new Float64Array(2 * nfft)
  }

  /** Fills re and im (channels × bins, channel-major) with frame `f` of `pcm`. */
  compute(pcm: Pcm16, f: number, re: Float64Array, im: Float64Array): void {
    const {nfft, bins, frame, spectrum, window} = this
    const channels = pcm.channels
    const length = Math.floor(pcm.samples.length / channels)
    const start = f * this.hop
    const available = Math.max(0, Math.min(nfft, length - start))
    for (let c = 0; c < channels; c++) {
      let index = start * channels + c
      for (let n = 0; n < available; n++, index += channels) frame[n] = pcm.samples[index] * window[n]
      frame.fill(0, available)
      this.fft.realTransform(spectrum, frame)
      for (let k = 0; k < bins; k++) {
        re[c * bins + k] = spectrum[2 * k]
        im[c * bins + k] = spectrum[2 * k + 1]
      }
    }
  }
}
