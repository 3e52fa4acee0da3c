import FFT from 'fft.js'

/**
 * Non-learned direction-of-arrival estimators, used by the tests to prove the synthesizer's geometry. They share no
 * code with src/seld/synth/spatial.ts beyond the microphone positions and the speed of sound, which they take as inputs.
 */

export interface Direction {
  azimuth: number
  elevation: number
}

const DEG = 180 / Math.PI

/** Angle in degrees between two directions. */
export function angleBetween(a: Direction, b: Direction): number {
  const v = (d: Direction) => {
    const azi = d.azimuth / DEG
    const ele = d.elevation / DEG
    return [Math.cos(ele) * Math.cos(azi), Math.cos(ele) * Math.sin(azi), Math.sin(ele)]
  }
  const [p, q] = [v(a), v(b)]
  const dot = p[0] * q[0] + p[1] * q[1] + p[2] * q[2]
  return Math.acos(Math.max(-1, Math.min(1, dot))) * DEG
}

/** Absolute azimuth difference in degrees, wrapped to 0…180. */
export function azimuthDifference(a: number, b: number): number {
  const d = Math.abs(a - b) % 360
  return d > 180 ? 360 - d : d
}

/**
 * FOA (ACN W, Y, Z, X; SN3D) active intensity over samples [from, to): the time average of W·(X, Y, Z), which for a
 * plane wave points at the source (the broadband form of Re{W*·V} summed over frequency, by Parseval).
 */
export function foaIntensityDirection(channels: Float32Array[], from: number, to: number): Direction {
  const [w, y, z, x] = channels
  let ix = 0, iy = 0, iz = 0
  for (let i = from; i < to; i++) {
    ix += w[i] * x[i]
    iy += w[i] * y[i]
    iz += w[i] * z[i]
  }
  return {azimuth: Math.atan2(iy, ix) * DEG, elevation: Math.atan2(iz, Math.hypot(ix, iy)) * DEG}
}

/** Spectrum of `size` Hann-windowed samples from `from`. */
function spectrum(fft: FFT, signal: Float32Array, from: number, size: number): Float64Array {
  const frame = new Float64Array(size)
  for (let i = 0; i < size && from + i < signal.length; i++) frame[i] = signal[from + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size))
  const out = new Float64Array(2 * size)
  fft.realTransform(out, frame)
  fft.completeSpectrum(out)
  return out
}

/** Frame starts (hop size/2) covering [from, to). */
function frameStarts(from: number, to: number, size: number): number[] {
  const starts: number[] = []
  for (let start = from; start + size <= to; start += size / 2) starts.push(start)
  return starts.length > 0 ? starts : [from]
}

/** Power per bin, summed over channels and averaged over the frames of [from, to). */
function powerPerBin(fft: FFT, channels: Float32Array[], from: number, to: number): Float64Array {
  const power = new Float64Array(fft.size)
  const starts = frameStarts(from, to, fft.size)
  for (const start of starts) {
    for (const channel of channels) {
      const x = spectrum(fft, channel, start, fft.size)
      for (let k = 0; k < fft.size; k++) power[k] += (x[2 * k] ** 2 + x[2 * k + 1] ** 2) / starts.length
    }
  }
  return power
}

/**
 * GCC-PHAT time difference of arrival, in samples, from the cross-power spectrum Xj·conj(Xi) of microphones i and j
 * (positive when the sound reaches `j` later). Only bins where `keep` is set take part (PHAT gives every bin the same
 * weight, so bins holding only ambient noise would drown the source). The integer peak of the whitened
 * cross-correlation within ±maxLag is refined by a golden-section search over fractional lags.
 */
export function gccPhatDelay(fft: FFT, crossPower: Float64Array, keep: Uint8Array, maxLag: number): number {
  const size = fft.size
  const cross = new Float64Array(2 * size)
  for (let k = 0; k < size; k++) {
    if (!keep[k]) continue
    const magnitude = Math.hypot(crossPower[2 * k], crossPower[2 * k + 1]) || 1
    cross[2 * k] = crossPower[2 * k] / magnitude
    cross[2 * k + 1] = crossPower[2 * k + 1] / magnitude
  }
  const correlation = new Float64Array(2 * size)
  fft.inverseTransform(correlation, cross)
  let best = 0
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    if (correlation[2 * ((lag + size) % size)] > correlation[2 * ((best + size) % size)]) best = lag
  }
  const correlationAt = (lag: number): number => {
    // Σ_k Re(cross_k · e^{j2πk·lag/N}) over the positive frequencies, rotating the phasor instead of calling cos/sin.
    const stepRe = Math.cos((2 * Math.PI * lag) / size)
    const stepIm = Math.sin((2 * Math.PI * lag) / size)
    let re = 1, im = 0, sum = 0
    for (let k = 1; k < size / 2; k++) {
      const nextRe = re * stepRe - im * stepIm
      im = re * stepIm + im * stepRe
      re = nextRe
      sum += cross[2 * k] * re - cross[2 * k + 1] * im
    }
    return sum
  }
  let low = best - 1
  let high = best + 1
  const ratio = (Math.sqrt(5) - 1) / 2
  while (high - low > 1e-3) {
    const a = high - ratio * (high - low)
    const b = low + ratio * (high - low)
    if (correlationAt(a) > correlationAt(b)) high = b
    else low = a
  }
  return (low + high) / 2
}

/**
 * Direction of a far source from GCC-PHAT delays of every microphone pair of a planar array (z = 0) over samples
 * [from, to): cross-power spectra averaged over 4096-sample frames (so every burst of an intermittent sound counts),
 * then least squares of delay_ij = (p_i − p_j)·u · fs / c over (u_x, u_y). A planar array only gives
 * |elevation| = acos(|(u_x, u_y)|). Bins less than 10 dB above the ambient noise, measured over [noiseFrom, noiseTo)
 * (a stretch without events), are left out.
 */
export function arrayDirection(channels: Float32Array[], positions: Array<[number, number, number]>, from: number, to: number,
  noiseFrom: number, noiseTo: number, sampleRate: number, speedOfSound: number): Direction {
  const size = 4096
  const fft = new FFT(size)
  const noise = powerPerBin(fft, channels, noiseFrom, noiseTo)
  const signal = powerPerBin(fft, channels, from, to)
  const keep = Uint8Array.from(signal, (power, k) => (power > 10 * noise[k] ? 1 : 0))
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < channels.length; i++) for (let j = i + 1; j < channels.length; j++) pairs.push([i, j])
  const crossPower = pairs.map(() => new Float64Array(2 * size))
  for (const start of frameStarts(from, to, size)) {
    const spectra = channels.map((channel) => spectrum(fft, channel, start, size))
    pairs.forEach(([i, j], p) => {
      const [xi, xj, cross] = [spectra[i], spectra[j], crossPower[p]]
      for (let k = 0; k < size; k++) {
        cross[2 * k] += xj[2 * k] * xi[2 * k] + xj[2 * k + 1] * xi[2 * k + 1]
        cross[2 * k + 1] += xj[2 * k + 1] * xi[2 * k] - xj[2 * k] * xi[2 * k + 1]
      }
    })
  }
  const radius = Math.max(...positions.map((p) => Math.hypot(p[0], p[1])))
  const maxLag = Math.ceil((2 * radius * sampleRate) / speedOfSound) + 1
  // Normal equations of the 2-unknown least squares.
  let aa = 0, ab = 0, bb = 0, ay = 0, by = 0
  pairs.forEach(([i, j], p) => {
    const delay = gccPhatDelay(fft, crossPower[p], keep, maxLag)
    const a = ((positions[i][0] - positions[j][0]) * sampleRate) / speedOfSound
    const b = ((positions[i][1] - positions[j][1]) * sampleRate) / speedOfSound
    aa += a * a; ab += a * b; bb += b * b; ay += a * delay; by += b * delay
  })
  const det = aa * bb - ab * ab
  const ux = (bb * ay - ab * by) / det
  const uy = (aa * by - ab * ay) / det
  return {azimuth: Math.atan2(uy, ux) * DEG, elevation: Math.acos(Math.min(1, Math.hypot(ux, uy))) * DEG}
}
