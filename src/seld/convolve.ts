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

function convolveDirect(signal: Float32Array, kernel: Float32Array): Float32Array {
  const out = new Float32Array(signal.length + kernel.length - 1)
  for (let k = 0; k < kernel.length; k++) {
    const tap = kernel[k]
    if (tap === 0) continue
    for (let i = 0; i < signal.length; i++) out[i + k] += tap * signal[i]
  }
  return out
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
 * Full linear convolution (length n + m − 1) of one signal with several kernels. Long kernels go through fft.js by
 * overlap-add: each signal block is transformed once, and kernels are packed two at a time as the real and imaginary
 * parts of one complex sequence, since s ∗ (a + jb) = s ∗ a + j (s ∗ b): one inverse transform gives two channels.
 */
export function convolveMany(signal: Float32Array, kernels: Float32Array[]): Float32Array[] {
  const out: Float32Array[] = new Array(kernels.length)
  const long: number[] = []
  kernels.forEach((kernel, k) => {
    if (nonZeroTaps(kernel) <= DIRECT_TAPS) out[k] = convolveDirect(signal, kernel)
    else long.push(k)
  })
  if (long.length === 0) return out
  const longest = Math.max(...long.map((k) => kernels[k].length))
  const pairs: Array<{first: number; second?: number; spectrum: Float64Array}> = []
  const size = blockSize(signal.length, longest, Math.ceil(long.length / 2))
  const {fft, block, spectrum, product, result} = plan(size)
  for (let p = 0; p < long.length; p += 2) {
    const [first, second] = [long[p], long[p + 1] as number | undefined]
    product.fill(0)
    const a = kernels[first]
    for (let i = 0; i < a.length; i++) product[2 * i] = a[i]
    if (second !== undefined) {
      const b = kernels[second]
      for (let i = 0; i < b.length; i++) product[2 * i + 1] = b[i]
    }
    const kernelSpectrum = new Float64Array(2 * size)
    fft.transform(kernelSpectrum, product)
    pairs.push({first, second, spectrum: kernelSpectrum})
    out[first] = new Float32Array(signal.length + kernels[first].length - 1)
    if (second !== undefined) out[second] = new Float32Array(signal.length + kernels[second].length - 1)
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
      const a = out[pair.first]
      const end = Math.min(size, a.length - start)
      for (let i = 0; i < end; i++) a[start + i] += result[2 * i]
      if (pair.second !== undefined) {
        const b = out[pair.second]
        const endB = Math.min(size, b.length - start)
        for (let i = 0; i < endB; i++) b[start + i] += result[2 * i + 1]
      }
    }
  }
  return out
}
