import type {Random} from './random.js'

/**
 * Procedural sound families standing in for the 11 DCASE 2016 task 2 classes. Each family has its own spectro-temporal
 * shape (impulsive resonances, click trains, chirped or band-limited noise, harmonic stacks with formants, two-tone
 * trills, inharmonic pings) and draws its pitch, timing, duration and envelope per instance, so a class is a family of
 * related sounds rather than one waveform. Signals are mono, unnormalized; the caller scales them.
 */
export type SoundFamily = (rng: Random, sampleRate: number) => Float64Array

/** RBJ biquad run over `x` in place; `centerAt(i)` lets the frequency move (coefficients refreshed every 32 samples). */
function biquad(x: Float64Array, type: 'lowpass' | 'highpass' | 'bandpass', centerAt: number | ((i: number) => number), q: number, sampleRate: number): Float64Array {
  let b0 = 0, b1 = 0, b2 = 0, a1 = 0, a2 = 0
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0
  const update = (frequency: number): void => {
    const w = (2 * Math.PI * Math.min(frequency, 0.45 * sampleRate)) / sampleRate
    const alpha = Math.sin(w) / (2 * q)
    const cos = Math.cos(w)
    const a0 = 1 + alpha
    if (type === 'lowpass') { b0 = (1 - cos) / 2; b1 = 1 - cos; b2 = b0 }
    else if (type === 'highpass') { b0 = (1 + cos) / 2; b1 = -(1 + cos); b2 = b0 }
    else { b0 = alpha; b1 = 0; b2 = -alpha }
    b0 /= a0; b1 /= a0; b2 /= a0; a1 = (-2 * cos) / a0; a2 = (1 - alpha) / a0
  }
  if (typeof centerAt === 'number') update(centerAt)
  for (let i = 0; i < x.length; i++) {
    if (typeof centerAt !== 'number' && i % 32 === 0) update(centerAt(i))
    const y = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
    x2 = x1; x1 = x[i]; y2 = y1; y1 = y
    x[i] = y
  }
  return x
}

function whiteNoise(rng: Random, length: number): Float64Array {
  const out = new Float64Array(length)
  for (let i = 0; i < length; i++) out[i] = 2 * rng.next() - 1
  return out
}

/** Adds amplitude · e^(−t/tau) · sin(2πft) from sample `start` until it has decayed by 60 dB (a two-pole resonator). */
function addDampedSine(out: Float64Array, start: number, frequency: number, tau: number, amplitude: number, sampleRate: number): void {
  const first = Math.max(0, Math.round(start))
  const end = Math.min(out.length, first + Math.ceil(tau * 6.9 * sampleRate))
  const w = (2 * Math.PI * frequency) / sampleRate
  const r = Math.exp(-1 / (tau * sampleRate))
  const c1 = 2 * r * Math.cos(w)
  const c2 = -r * r
  let previous = 0
  let current = amplitude * r * Math.sin(w)
  for (let i = first + 1; i < end; i++) {
    out[i] += current
    const next = c1 * current + c2 * previous
    previous = current
    current = next
  }
}

/** Adds an exponentially decaying white-noise burst (a click or an impact transient). */
function addNoiseBurst(out: Float64Array, rng: Random, start: number, tau: number, amplitude: number, sampleRate: number): void {
  const first = Math.max(0, Math.round(start))
  const end = Math.min(out.length, first + Math.ceil(tau * 7 * sampleRate))
  const decay = Math.exp(-1 / (tau * sampleRate))
  let gain = amplitude
  for (let i = first; i < end; i++) {
    out[i] += gain * (2 * rng.next() - 1)
    gain *= decay
  }
}

/** Gain at `position` of a raised-cosine bump `length` samples long with `edge`-sample fades; 0 outside it. */
function bumpGain(position: number, length: number, edge: number): number {
  if (position < 0 || position >= length) return 0
  const fade = Math.max(1, Math.min(edge, length / 2))
  if (position < fade) return 0.5 - 0.5 * Math.cos((Math.PI * position) / fade)
  if (position > length - fade) return 0.5 - 0.5 * Math.cos((Math.PI * (length - position)) / fade)
  return 1
}

/**
 * Voiced source: a pulse train following `f0At(i)` with period jitter, tilted like a glottal flow (two one-pole
 * low-passes), then shaped by parallel formant resonators. `gainAt(i)` scales each pulse.
 */
function voiced(rng: Random, length: number, f0At: (i: number) => number, gainAt: (i: number) => number,
  formants: Array<{frequency: number | ((i: number) => number); q: number; gain: number}>, jitter: number, sampleRate: number): Float64Array {
  const pulses = new Float64Array(length)
  let phase = rng.next()
  let period = 1
  for (let i = 0; i < length; i++) {
    phase += f0At(i) / sampleRate / period
    if (phase >= 1) {
      phase -= 1
      period = 1 + jitter * (2 * rng.next() - 1)
      pulses[i] = gainAt(i)
    }
  }
  let lp1 = 0, lp2 = 0
  for (let i = 0; i < length; i++) {
    lp1 += 0.35 * (pulses[i] - lp1)
    lp2 += 0.35 * (lp1 - lp2)
    pulses[i] = lp2
  }
  const out = new Float64Array(length)
  for (const formant of formants) {
    const band = biquad(Float64Array.from(pulses), 'bandpass', formant.frequency, formant.q, sampleRate)
    for (let i = 0; i < length; i++) out[i] += formant.gain * band[i]
  }
  return out
}

function peak(x: Float64Array): number {
  let max = 0
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]))
  return max
}

function rms(x: Float64Array): number {
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i]
  return Math.sqrt(sum / Math.max(1, x.length))
}

/** Low, damped wooden resonances repeated 2–5 times, each with a sharp broadband attack. */
const knock: SoundFamily = (rng, fs) => {
  const count = rng.int(2, 5)
  const spacing = rng.uniform(0.12, 0.3)
  const frequency = rng.uniform(150, 450)
  const tau = rng.uniform(0.015, 0.04)
  const out = new Float64Array(Math.ceil(((count - 1) * spacing * 1.15 + 8 * tau) * fs))
  const clicks = new Float64Array(out.length)
  for (let k = 0; k < count; k++) {
    const start = k * spacing * rng.uniform(0.85, 1.15) * fs
    const amplitude = rng.uniform(0.6, 1)
    addDampedSine(out, start, frequency * rng.uniform(0.97, 1.03), tau, amplitude, fs)
    addDampedSine(out, start, frequency * rng.uniform(2.3, 2.8), tau * 0.5, amplitude * 0.4, fs)
    addNoiseBurst(clicks, rng, start, 0.0015, amplitude, fs)
  }
  biquad(clicks, 'lowpass', rng.uniform(3000, 5000), 0.7, fs)
  for (let i = 0; i < out.length; i++) out[i] += clicks[i]
  return out
}

/** Sliding friction: band-pass noise whose centre glides (a noise chirp) with a rumbling modulation, then a thump. */
const drawer: SoundFamily = (rng, fs) => {
  const slide = rng.uniform(0.6, 1.5) * fs
  const out = whiteNoise(rng, Math.ceil(slide + 0.3 * fs))
  const from = rng.uniform(600, 1800)
  const to = from * rng.uniform(0.6, 1.6)
  biquad(out, 'bandpass', (i) => from + ((to - from) * Math.min(i, slide)) / slide, rng.uniform(1.5, 4), fs)
  const rumble = rng.uniform(8, 20) / fs
  const rise = rng.uniform(0.1, 0.3) * fs
  const phase = rng.uniform(0, 2 * Math.PI)
  for (let i = 0; i < out.length; i++) {
    const envelope = i < slide ? Math.min(1, i / rise) * bumpGain(i, slide, 0.03 * fs) : 0
    out[i] *= envelope * (1 + 0.6 * Math.sin(2 * Math.PI * rumble * i + phase))
  }
  const scale = 0.3 / Math.max(rms(out), 1e-9)
  for (let i = 0; i < out.length; i++) out[i] *= scale
  const thumpFrequency = rng.uniform(80, 200)
  addDampedSine(out, slide - 0.02 * fs, thumpFrequency, rng.uniform(0.04, 0.08), 1.2, fs)
  addDampedSine(out, slide - 0.02 * fs, thumpFrequency * rng.uniform(2.5, 3.5), 0.02, 0.5, fs)
  return out
}

/** "Ahem": two rough, low voiced segments, the second gliding down, with breath noise. */
const clearthroat: SoundFamily = (rng, fs) => {
  const first = rng.uniform(0.12, 0.25) * fs
  const gap = rng.uniform(0.03, 0.08) * fs
  const second = rng.uniform(0.2, 0.45) * fs
  const length = Math.ceil(first + gap + second)
  const f0 = rng.uniform(90, 160)
  const glide = rng.uniform(0.6, 0.8)
  const roughness = rng.uniform(25, 40) / fs
  const f0At = (i: number): number => (i < first ? f0 * (1.1 - (0.1 * i) / first) : f0 * (1 - ((1 - glide) * (i - first - gap)) / second))
  const envelope = (i: number): number => bumpGain(i, first, 0.01 * fs) + 0.8 * bumpGain(i - first - gap, second, 0.04 * fs)
  const out = voiced(rng, length, f0At, (i) => envelope(i) * (1 + 0.8 * Math.sin(2 * Math.PI * roughness * i)), [
    {frequency: rng.uniform(400, 600), q: 4, gain: 1},
    {frequency: rng.uniform(1000, 1500), q: 5, gain: 0.5},
  ], 0.08, fs)
  const breath = biquad(whiteNoise(rng, length), 'bandpass', rng.uniform(1000, 2000), 1.5, fs)
  const level = (0.4 * rms(out)) / Math.max(rms(breath), 1e-9)
  for (let i = 0; i < length; i++) out[i] += level * envelope(i) * breath[i]
  return out
}

/** Electronic ring: two steady tones trilled by a fast square modulation, in one or two bursts. */
const phone: SoundFamily = (rng, fs) => {
  const f1 = rng.uniform(700, 1500)
  const f2 = f1 * rng.uniform(1.15, 1.35)
  const third = rng.uniform(0, 0.3)
  const trill = rng.uniform(14, 26) / fs
  const bursts = rng.int(1, 2)
  const burst = rng.uniform(0.4, 1.0) * fs
  const gap = rng.uniform(0.2, 0.4) * fs
  const out = new Float64Array(Math.ceil(bursts * burst + (bursts - 1) * gap))
  const tones = [[f1, 1], [f2, 0.8], [3 * f1, third]].map(([frequency, amplitude]) => ({step: (2 * Math.PI * frequency) / fs, amplitude}))
  for (let i = 0; i < out.length; i++) {
    const envelope = bumpGain(i % (burst + gap), burst, 0.005 * fs)
    if (envelope === 0) continue
    // A square wave with soft edges: the ringer's trill.
    const square = 0.5 + 0.5 * Math.max(-1, Math.min(1, 4 * Math.sin(2 * Math.PI * trill * i)))
    let tone = 0
    for (const {step, amplitude} of tones) tone += amplitude * Math.sin(step * i)
    out[i] = envelope * square * tone
  }
  return out
}

/** Jingling keys: many short inharmonic metallic pings, dense at first and thinning out. */
const keysDrop: SoundFamily = (rng, fs) => {
  const duration = rng.uniform(0.4, 1.2)
  const out = new Float64Array(Math.ceil((duration + 0.4) * fs))
  const pings = rng.int(8, 25)
  for (let p = 0; p < pings; p++) {
    const t = duration * rng.next() ** 1.8
    const amplitude = Math.exp(-t / (duration / 2)) * rng.uniform(0.3, 1)
    const partials = rng.int(3, 5)
    for (let k = 0; k < partials; k++) addDampedSine(out, t * fs, rng.uniform(2500, 9000), rng.uniform(0.02, 0.08), amplitude / partials, fs)
  }
  return out
}

/** Speech-like: a harmonic stack with intonation, syllabic rhythm, moving vowel formants and some fricatives. */
const speech: SoundFamily = (rng, fs) => {
  const length = Math.ceil(rng.uniform(0.8, 2.2) * fs)
  const f0 = rng.uniform(100, 230)
  const syllable = fs / rng.uniform(3, 5.5)
  const syllables = Math.ceil(length / syllable)
  const vowels = Array.from({length: syllables + 1}, () => [rng.uniform(300, 850), rng.uniform(850, 2300), rng.uniform(2300, 3000)])
  const loudness = Array.from({length: syllables + 1}, () => rng.uniform(0.5, 1))
  const intonation = Array.from({length: syllables + 2}, () => rng.uniform(-0.15, 0.15))
  const formantAt = (f: number) => (i: number): number => {
    const s = Math.floor(i / syllable)
    const blend = Math.min(1, (i - s * syllable) / (0.15 * syllable))
    return s === 0 ? vowels[0][f] : vowels[s - 1][f] + (vowels[s][f] - vowels[s - 1][f]) * blend
  }
  const f0At = (i: number): number => {
    const s = i / syllable
    const k = Math.floor(s)
    const contour = intonation[k] + (intonation[k + 1] - intonation[k]) * (s - k)
    return f0 * (1 + contour) * (1 - (0.15 * i) / length)
  }
  const envelope = (i: number): number => {
    const s = Math.floor(i / syllable)
    return loudness[s] * bumpGain(i - s * syllable, 0.85 * syllable, 0.25 * syllable)
  }
  const out = voiced(rng, length, f0At, envelope, [
    {frequency: formantAt(0), q: 5, gain: 1},
    {frequency: formantAt(1), q: 7, gain: 0.6},
    {frequency: formantAt(2), q: 8, gain: 0.3},
  ], 0.02, fs)
  const hiss = biquad(whiteNoise(rng, length), 'highpass', rng.uniform(3000, 5000), 0.7, fs)
  const level = (0.5 * rms(out)) / Math.max(rms(hiss), 1e-9)
  for (let s = 0; s < syllables; s++) {
    if (rng.next() > 0.4) continue
    const start = Math.floor(s * syllable + 0.8 * syllable)
    const span = Math.floor(rng.uniform(0.03, 0.06) * fs)
    for (let i = start; i < Math.min(length, start + span); i++) out[i] += level * bumpGain(i - start, span, span / 3) * hiss[i]
  }
  return out
}

/** Typing: an irregular train of bright clicks with a dull key-bottom resonance and a release click. */
const keyboard: SoundFamily = (rng, fs) => {
  const duration = rng.uniform(0.8, 2.5)
  const out = new Float64Array(Math.ceil((duration + 0.1) * fs))
  const clicks = new Float64Array(out.length)
  const interval = 1 / rng.uniform(6, 13)
  const thock = rng.uniform(250, 600)
  for (let t = 0; t < duration; t += interval * rng.uniform(0.65, 1.35)) {
    const amplitude = rng.uniform(0.5, 1)
    addNoiseBurst(clicks, rng, t * fs, rng.uniform(0.001, 0.002), amplitude, fs)
    addNoiseBurst(clicks, rng, (t + rng.uniform(0.03, 0.06)) * fs, 0.001, amplitude * 0.4, fs)
    addDampedSine(out, t * fs, thock * rng.uniform(0.9, 1.1), rng.uniform(0.008, 0.015), amplitude * 0.3, fs)
  }
  biquad(clicks, 'bandpass', rng.uniform(2500, 4500), 1, fs)
  for (let i = 0; i < out.length; i++) out[i] += clicks[i]
  return out
}

/** A page swoosh: broad high noise sweeping upward under a slow swell, with a few crinkles. */
const pageturn: SoundFamily = (rng, fs) => {
  const length = Math.ceil(rng.uniform(0.4, 1.1) * fs)
  const out = whiteNoise(rng, length)
  const from = rng.uniform(2500, 4000)
  const to = from * rng.uniform(1.3, 2)
  biquad(out, 'bandpass', (i) => from + ((to - from) * i) / length, 0.7, fs)
  const peak = rng.uniform(0.3, 0.6) * length
  for (let i = 0; i < length; i++) {
    const envelope = i < peak ? Math.sin((Math.PI / 2) * (i / peak)) ** 2 : Math.cos((Math.PI / 2) * ((i - peak) / (length - peak))) ** 2
    out[i] *= envelope
  }
  const crinkle = 3 * rms(out)
  for (let k = rng.int(3, 10); k > 0; k--) addNoiseBurst(out, rng, rng.uniform(0.1, 0.9) * length, 0.0008, crinkle, fs)
  return out
}

/** 1–3 explosive noisy bursts with a brief voiced onset and formant colouring. */
const cough: SoundFamily = (rng, fs) => {
  const bursts = rng.int(1, 3)
  const spacing = rng.uniform(0.25, 0.45)
  const tau = rng.uniform(0.06, 0.15)
  const length = Math.ceil(((bursts - 1) * spacing + 5 * tau) * fs)
  const excitation = new Float64Array(length)
  const onsets: number[] = []
  for (let b = 0; b < bursts; b++) {
    const start = b * spacing * fs
    onsets.push(start)
    const amplitude = b === 0 ? 1 : rng.uniform(0.5, 0.9)
    const attack = rng.uniform(0.005, 0.01) * fs
    const decay = Math.exp(-1 / (tau * fs))
    let gain = amplitude
    for (let i = Math.round(start); i < length; i++) {
      const ramp = Math.min(1, (i - start) / attack)
      excitation[i] += ramp * gain * (2 * rng.next() - 1)
      gain *= decay
    }
  }
  const low = biquad(Float64Array.from(excitation), 'bandpass', rng.uniform(500, 900), 2, fs)
  const high = biquad(excitation, 'bandpass', rng.uniform(1500, 2500), 3, fs)
  const f0 = rng.uniform(180, 300)
  const voice = voiced(rng, length, () => f0, (i) => (onsets.some((o) => i >= o && i < o + 0.06 * fs) ? 1 : 0),
    [{frequency: rng.uniform(500, 800), q: 4, gain: 1}], 0.05, fs)
  const voiceLevel = (0.3 * rms(low)) / Math.max(rms(voice), 1e-9)
  const out = new Float64Array(length)
  for (let i = 0; i < length; i++) out[i] = low[i] + 0.7 * high[i] + voiceLevel * voice[i]
  return out
}

/** One heavy impact: a low noise thud, a ringing low panel mode, often a latch click. */
const doorslam: SoundFamily = (rng, fs) => {
  const ring = rng.uniform(0.1, 0.22)
  const out = new Float64Array(Math.ceil((0.08 + 5 * ring) * fs))
  const thud = new Float64Array(out.length)
  addNoiseBurst(thud, rng, 0, rng.uniform(0.04, 0.09), 1, fs)
  biquad(thud, 'lowpass', rng.uniform(400, 900), 0.7, fs)
  const mode = rng.uniform(50, 130)
  addDampedSine(out, 0, mode, ring, 0.8, fs)
  addDampedSine(out, 0, mode * rng.uniform(1.6, 2.2), ring * 0.6, 0.4, fs)
  const thudLevel = 1 / Math.max(peak(thud), 1e-9)
  for (let i = 0; i < out.length; i++) out[i] += thudLevel * thud[i]
  if (rng.next() < 0.7) addNoiseBurst(out, rng, rng.uniform(0.02, 0.07) * fs, 0.001, 0.4, fs)
  return out
}

/** "Ha-ha-ha": fast voiced syllables with aspirated onsets, high pitch falling across the laugh. */
const laughter: SoundFamily = (rng, fs) => {
  const syllables = rng.int(3, 8)
  const interval = fs / rng.uniform(4, 6.5)
  const length = Math.ceil(syllables * interval)
  const starts = Array.from({length: syllables}, (_, s) => s * interval * rng.uniform(0.95, 1.05))
  const duty = rng.uniform(0.55, 0.75) * interval
  const f0 = rng.uniform(220, 380)
  const fall = rng.uniform(0.2, 0.4)
  const syllableAt = (i: number): number => Math.min(syllables - 1, Math.floor(i / interval))
  const envelope = (i: number): number => {
    const s = syllableAt(i)
    return Math.exp(-s / syllables) * bumpGain(i - starts[s], duty, duty / 3)
  }
  const f0At = (i: number): number => {
    const within = (i - starts[syllableAt(i)]) / duty
    return f0 * (1 - (fall * i) / length) * (1 + 0.08 * Math.sin(Math.PI * Math.max(0, Math.min(1, within))))
  }
  const out = voiced(rng, length, f0At, envelope, [
    {frequency: rng.uniform(700, 950), q: 4, gain: 1},
    {frequency: rng.uniform(1100, 1500), q: 5, gain: 0.6},
    {frequency: rng.uniform(2500, 2800), q: 6, gain: 0.2},
  ], 0.03, fs)
  const breath = biquad(whiteNoise(rng, length), 'bandpass', rng.uniform(1200, 2000), 1, fs)
  const level = (0.6 * rms(out)) / Math.max(rms(breath), 1e-9)
  for (let i = 0; i < length; i++) {
    const within = (i - starts[syllableAt(i)]) / duty
    out[i] += level * breath[i] * envelope(i) * (within < 0.3 ? 1 : 0.2)
  }
  return out
}

/** The procedural family of every DCASE 2016 class name. */
export const SOUND_FAMILIES: Record<string, SoundFamily> = {
  clearthroat, cough, doorslam, drawer, keyboard, keysDrop, knock, laughter, pageturn, phone, speech,
}
