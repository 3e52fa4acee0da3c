/**
 * The feature presets (`features.kind`):
 * - `stft`: the published SELDnet input, magnitude and phase of every channel (see Stft);
 * - `logmel_iv` (first-order Ambisonics, DCASE 2020–2021 baselines): the log-mel spectrum of every channel, plus the
 *   active intensity vector Re(conj(W) · [ch1, ch2, ch3]) (ACN: Y, Z, X) normalised to unit length in every
 *   time-frequency bin and then summed into the same mel bands;
 * - `logmel_gcc` (microphone arrays, DCASE 2020–2022 baselines): the log-mel spectrum of every channel, plus the
 *   GCC-PHAT of every channel pair (m < n, in order (0,1), (0,2) … (1,2) …), its lags −bands/2 … bands/2 − 1 as the
 *   "bands".
 * Each is a float32 array frames × bins × channels; for the log-mel kinds the bins are the mel bands and the channels
 * the C log-mel spectra followed by the spatial ones. Framing is that of the published features (see FrameSpectra),
 * so the labels' frames fit every kind.
 */
import {melFilterbank, applyBand, powerToDb, type MelBand} from './mel.js'
import {FrameSpectra} from './stft.js'
import FFT from 'fft.js'
import type {Pcm16} from '../io/wav.js'

export const FEATURE_KINDS = ['stft', 'logmel_iv', 'logmel_gcc'] as const
export type FeatureKind = (typeof FEATURE_KINDS)[number]

/** What determines a recording's features besides its audio. */
export interface FeatureSpec {
  kind: FeatureKind
  nfft: number
  /** Mel bands of the log-mel kinds (ignored by `stft`). */
  melBands: number
}

/** The DCASE baselines' mel band count. */
export const DEFAULT_MEL_BANDS = 64

/** The intensity-vector channels of `logmel_iv`, guarding against a zero vector as the baselines do. */
const IV_EPS = 1e-8

export function isFeatureKind(value: unknown): value is FeatureKind {
  return typeof value === 'string' && (FEATURE_KINDS as readonly string[]).includes(value)
}

/** A spec from loose parts: `stft` and the default mel bands when absent. Throws on an unknown kind. */
export function featureSpec(nfft: number, kind: unknown = 'stft', melBands: unknown = DEFAULT_MEL_BANDS): FeatureSpec {
  if (!isFeatureKind(kind)) throw new Error(`features.kind must be one of ${FEATURE_KINDS.join(', ')}, got '${kind}'`)
  if (!Number.isInteger(melBands) || (melBands as number) < 1) throw new Error(`features.mel_bands must be a positive integer, got ${melBands}`)
  return {kind, nfft, melBands: melBands as number}
}

/** Pairs (m, n), m < n, of `channels` channels in the baselines' order. */
export function channelPairs(channels: number): [number, number][] {
  const pairs: [number, number][] = []
  for (let m = 0; m < channels; m++) for (let n = m + 1; n < channels; n++) pairs.push([m, n])
  return pairs
}

/** [bins, channels] of every frame of the features of a recording with `audioChannels` channels; throws when the kind does not fit them. */
export function featureShape(spec: FeatureSpec, audioChannels: number): [number, number] {
  if (spec.kind === 'stft') return [spec.nfft / 2, 2 * audioChannels]
  if (spec.kind === 'logmel_iv') {
    if (audioChannels !== 4) throw new Error(`logmel_iv features need first-order Ambisonics (4 channels W, Y, Z, X), got ${audioChannels} channels; for a microphone array set features.kind=logmel_gcc (or stft)`)
    return [spec.melBands, audioChannels + 3]
  }
  if (audioChannels < 2) throw new Error(`logmel_gcc features need at least 2 channels, got ${audioChannels}`)
  if (spec.melBands % 2 !== 0 || spec.melBands > spec.nfft) {
    throw new Error(`logmel_gcc features take mel_bands GCC lags around zero: mel_bands must be even and at most nfft (${spec.nfft}), got ${spec.melBands}`)
  }
  return [spec.melBands, audioChannels + channelPairs(audioChannels).length]
}

const filterbanks = new Map<string, MelBand[]>()
const spectraByNfft = new Map<number, FrameSpectra>()
const inverseByNfft = new Map<number, FFT>()

function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key)
  if (value === undefined) map.set(key, (value = make()))
  return value
}

/**
 * The `logmel_iv` or `logmel_gcc` features of `frames` frames of a recording (see the module comment), into `out`
 * when given (frames × bins × channels values).
 */
export function logMelFeatures(pcm: Pcm16, spec: FeatureSpec, frames: number, out?: Float32Array): Float32Array {
  const [bands, width] = featureShape(spec, pcm.channels)
  const size = frames * bands * width
  if (out && out.length !== size) throw new Error(`output holds ${out.length} values, ${frames} frames need ${size}`)
  const features = out ?? new Float32Array(size)
  const spectra = cached(spectraByNfft, spec.nfft, () => new FrameSpectra(spec.nfft))
  const filterbank = cached(filterbanks, `${pcm.sampleRate}/${spec.nfft}/${bands}`, () => melFilterbank(pcm.sampleRate, spec.nfft, bands))
  const C = pcm.channels
  const bins = spectra.bins
  const re = new Float64Array(C * bins)
  const im = new Float64Array(C * bins)
  const power = new Float64Array(bins)
  const spatial = new Float64Array(3 * bins)
  const pairs = channelPairs(C)
  const inverse = spec.kind === 'logmel_gcc' ? cached(inverseByNfft, spec.nfft, () => new FFT(spec.nfft)) : undefined
  const phat = inverse?.createComplexArray() as number[] | undefined
  const lags = inverse?.createComplexArray() as number[] | undefined
  for (let f = 0; f < frames; f++) {
    spectra.compute(pcm, f, re, im)
    const row = f * bands * width
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < bins; k++) power[k] = re[c * bins + k] ** 2 + im[c * bins + k] ** 2
      for (let m = 0; m < bands; m++) features[row + m * width + c] = powerToDb(applyBand(filterbank[m], power))
    }
    if (spec.kind === 'logmel_iv') {
      for (let k = 0; k < bins; k++) {
        let squares = 0
        for (let axis = 0; axis < 3; axis++) {
          const c = 1 + axis
          const intensity = re[k] * re[c * bins + k] + im[k] * im[c * bins + k]
          spatial[axis * bins + k] = intensity
          squares += intensity * intensity
        }
        const norm = Math.sqrt(squares) + IV_EPS
        for (let axis = 0; axis < 3; axis++) spatial[axis * bins + k] /= norm
      }
      for (let axis = 0; axis < 3; axis++) {
        for (let m = 0; m < bands; m++) features[row + m * width + C + axis] = applyBand(filterbank[m], spatial, axis * bins)
      }
      continue
    }
    const nfft = spec.nfft
    pairs.forEach(([a, b], p) => {
      // exp(i · angle(conj(X_a) · X_b)), Hermitian-completed; the DC and Nyquist bins count as real, as irfft takes them.
      for (let k = 0; k < bins; k++) {
        const crossRe = re[a * bins + k] * re[b * bins + k] + im[a * bins + k] * im[b * bins + k]
        const crossIm = re[a * bins + k] * im[b * bins + k] - im[a * bins + k] * re[b * bins + k]
        const angle = Math.atan2(crossIm, crossRe)
        phat![2 * k] = Math.cos(angle)
        phat![2 * k + 1] = k === 0 || k === bins - 1 ? 0 : Math.sin(angle)
        if (k > 0 && k < bins - 1) {
          phat![2 * (nfft - k)] = phat![2 * k]
          phat![2 * (nfft - k) + 1] = -phat![2 * k + 1]
        }
      }
      inverse!.inverseTransform(lags!, phat!)
      for (let m = 0; m < bands; m++) {
        const lag = m < bands / 2 ? nfft - bands / 2 + m : m - bands / 2
        features[row + m * width + C + p] = lags![2 * lag]
      }
    })
  }
  return features
}
