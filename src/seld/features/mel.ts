/**
 * The mel filterbank of librosa.filters.mel with its defaults (Slaney's mel scale: linear below 1 kHz, logarithmic
 * above; triangles normalised to unit area, `norm='slaney'`; fmin 0, fmax sr/2), as the DCASE SELD baselines use it.
 */

const F_SP = 200 / 3
const MIN_LOG_HZ = 1000
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP
const LOG_STEP = Math.log(6.4) / 27

export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP
}

export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel
}

/** One band's non-zero weights: bins first … first + weights.length − 1. */
export interface MelBand {
  first: number
  weights: Float64Array
}

/**
 * `bands` triangular bands over the nfft/2 + 1 bins of a real FFT of length `nfft` at `sampleRate`, stored sparsely
 * (each band covers a few bins). A band narrower than the bin spacing can cover no bin at all (all weights zero),
 * as librosa's would; such a band gives the floor value of every frame.
 */
export function melFilterbank(sampleRate: number, nfft: number, bands: number): MelBand[] {
  if (!Number.isInteger(bands) || bands < 1) throw new Error(`mel bands must be a positive integer, got ${bands}`)
  const bins = nfft / 2 + 1
  const top = hzToMel(sampleRate / 2)
  const edges = Array.from({length: bands + 2}, (_, i) => melToHz((top * i) / (bands + 1)))
  return Array.from({length: bands}, (_, m) => {
    const [low, centre, high] = [edges[m], edges[m + 1], edges[m + 2]]
    const area = 2 / (high - low)
    const weights: number[] = []
    let first = -1
    for (let k = 0; k < bins; k++) {
      const hz = (k * sampleRate) / nfft
      const weight = Math.max(0, Math.min((hz - low) / (centre - low), (high - hz) / (high - centre))) * area
      if (weight > 0 && first < 0) first = k
      if (first >= 0 && weight > 0) weights[k - first] = weight
    }
    return {first: Math.max(first, 0), weights: Float64Array.from(weights, (w) => w ?? 0)}
  })
}

/** Σ_k values[k] · weight of band `band` at bin k. */
export function applyBand(band: MelBand, values: Float64Array, offset = 0): number {
  let sum = 0
  for (let i = 0; i < band.weights.length; i++) sum += values[offset + band.first + i] * band.weights[i]
  return sum
}

/** The floor of powerToDb: librosa's `amin`. */
export const POWER_FLOOR = 1e-10

/**
 * 10 · log10(max(power, 1e-10)), librosa.power_to_db with ref 1 but without its `top_db` clip, which depends on the
 * loudest value of the whole input: a recording predicted a few sequences at a time would then get other features
 * than the same recording computed whole.
 */
export function powerToDb(power: number): number {
  return 10 * Math.log10(Math.max(power, POWER_FLOOR))
}
