import FFT from 'fft.js'

/** Kernels with at most this many non-zero taps are applied by direct sums; longer ones (room responses) by FFT. */
const DIRECT_TAPS = 64

interface Plan {
  fft: FFT
  /** Scratch buffers reused across calls: events are convolved one after another, mostly with the same sizes. */
  block: Float64Array
  spectrum: Float64Array
  product: Float64Array
  result: Float64Array
}

const plans = new Map<number, Plan>()

function plan(size: number): Plan {
  let found = plans.get(size)
  if (!found) {
    found = {
      fft: new FFT(size), block: new Float64Array(size), spectrum: new Float64Array(2 * size),
      product: new Float64Array(2 * size), result: new Float64Array(2 * size),
    }
    plans.set(size, found)
  }
  return found
}

function nonZeroTaps(kernel: Float32Array): number {
  let count = 0
  for (let i = 0; i < kernel.length; i++) if (kernel[i] !== 0) count++
  return count
}

/** Adds gain · (signal ∗ kernel) into `output`, the convolution's sample 0 landing on output[offset]. */
function addDirect(signal: Float32Array, kernel: Float32Array, output: Float32Array, offset: number, gain: number): void {
  for (let k = 0; k < kernel.length; k++) {
    const tap = gain * kernel[k]
    if (tap === 0) continue
    const from = Math.max(0, -(offset + k))
    const to = Math.min(signal.length, output.length - offset - k)
    for (let i = from; i < to; i++) output[offset + k + i] += tap * signal[i]
  }
}

/** Adds `block` (samples 0 … size − 1 of one overlap-add block, every `stride`-th value from `first`) into `output`. */
function addBlock(block: Float64Array, first: number, stride: number, length: number, output: Float32Array, at: number, gain: number): void {
  const from = Math.max(0, -at)
  const to = Math.min(length, output.length - at)
  for (let i = from; i < to; i++) output[at + i] += gain * block[first + stride * i]
}

/**
 * FFT size for overlap-add of an n-sample signal with m-tap kernels in `pairs` packed pairs: the power of two that
 * minimises blocks × (one real forward + one inverse per pair) + one forward per pair, in N·log N units.
 */
function blockSize(n: number, m: number, pairs: number): number {
  let best = 0
  let bestCost = Infinity
  for (let size = 2 ** Math.ceil(Math.log2(2 * m)); ; size *= 2) {
    const blocks = Math.ceil(n / (size - m + 1))
    const cost = size * Math.log2(size) * (blocks * (0.6 + pairs) + pairs)
    if (cost < bestCost) {
      best = size
      bestCost = cost
    }
    if (blocks === 1) return best
  }
}

/**
 * Adds gain · (signal ∗ kernels[c]) into outputs[c] for every channel c, the convolution's first sample landing on
 * outputs[c][offset] (parts falling outside the outputs are dropped). Short kernels are applied by direct sums; long
 * ones (room responses) through fft.js by overlap-add: each signal block is transformed once, and kernels are packed
 * two at a time as the real and imaginary parts of one complex sequence, since s ∗ (a + jb) = s ∗ a + j (s ∗ b): one
 * inverse transform gives two channels.
 */
export function convolveAdd(signal: Float32Array, kernels: Float32Array[], outputs: Float32Array[], offset: number, gain = 1): void {
  const long: number[] = []
  kernels.forEach((kernel, c) => {
    if (nonZeroTaps(kernel) <= DIRECT_TAPS) addDirect(signal, kernel, outputs[c], offset, gain)
    else long.push(c)
  })
  if (long.length === 0) return
  const longest = Math.max(...long.map((c) => kernels[c].length))
  const size = blockSize(signal.length, longest, Math.ceil(long.length / 2))
  const {fft, block, spectrum, product, result} = plan(size)
  const pairs: Array<{channels: number[]; spectrum: Float64Array}> = []
  for (let p = 0; p < long.length; p += 2) {
    const channels = long.slice(p, p + 2)
    product.fill(0)
    channels.forEach((c, part) => {
      const kernel = kernels[c]
      for (let i = 0; i < kernel.length; i++) product[2 * i + part] = kernel[i]
    })
    const kernelSpectrum = new Float64Array(2 * size)
    fft.transform(kernelSpectrum, product)
    pairs.push({channels, spectrum: kernelSpectrum})
  }
  const hop = size - longest + 1
  for (let start = 0; start < signal.length; start += hop) {
    block.fill(0)
    block.set(signal.subarray(start, Math.min(signal.length, start + hop)))
    fft.realTransform(spectrum, block)
    fft.completeSpectrum(spectrum)
    for (const pair of pairs) {
      const kernel = pair.spectrum
      for (let i = 0; i < 2 * size; i += 2) {
        product[i] = spectrum[i] * kernel[i] - spectrum[i + 1] * kernel[i + 1]
        product[i + 1] = spectrum[i] * kernel[i + 1] + spectrum[i + 1] * kernel[i]
      }
      fft.inverseTransform(result, product)
      pair.channels.forEach((c, part) => {
        // This block's share of the full convolution: up to hop − 1 + kernel length samples.
        const length = Math.min(size, signal.length - start + kernels[c].length - 1)
        addBlock(result, part, 2, length, outputs[c], offset + start, gain)
      })
    }
  }
}

/** Full linear convolution (length n + m − 1) of one signal with several kernels (see convolveAdd). */
export function convolveMany(signal: Float32Array, kernels: Float32Array[]): Float32Array[] {
  const outputs = kernels.map((kernel) => new Float32Array(signal.length + kernel.length - 1))
  convolveAdd(signal, kernels, outputs, 0)
  return outputs
}
