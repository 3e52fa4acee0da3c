import {readFileSync, writeFileSync} from 'node:fs'
import wavefile from 'wavefile'

const {WaveFile} = wavefile

/** 16-bit PCM audio, samples interleaved frame by frame (sample i of channel c at i * channels + c). */
export interface Pcm16 {
  sampleRate: number
  channels: number
  samples: Int16Array
}

export interface WavExpectation {
  channels?: number
  sampleRate?: number
}

export class WavError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`)
    this.name = 'WavError'
  }
}

interface FmtChunk {
  audioFormat: number
  numChannels: number
  sampleRate: number
  bitsPerSample: number
  blockAlign: number
}

/** Parses a 16-bit PCM WAV, refusing anything that would silently give wrong samples. `name` is used in errors. */
export function parseWav(bytes: Uint8Array, name: string, expect: WavExpectation = {}): Pcm16 {
  let wav: InstanceType<typeof WaveFile>
  try {
    wav = new WaveFile(bytes)
  } catch (error) {
    throw new WavError(name, `not a readable WAV file (${(error as Error).message})`)
  }
  // wavefile also reads big-endian RIFX and RF64; their samples would be misread below.
  if (wav.container !== 'RIFF') throw new WavError(name, `${wav.container} container; a little-endian RIFF WAV is expected`)
  const fmt = wav.fmt as FmtChunk
  const data = wav.data as {chunkSize: number; samples: Uint8Array}
  // wavefile maps WAVE_FORMAT_EXTENSIBLE (0xFFFE) to its sub-format only for some depths; accept both PCM codes.
  if (fmt.audioFormat !== 1 && fmt.audioFormat !== 0xfffe) throw new WavError(name, `audio format ${fmt.audioFormat} is not PCM`)
  if (fmt.bitsPerSample !== 16) throw new WavError(name, `${fmt.bitsPerSample}-bit samples; 16-bit PCM expected`)
  if (fmt.numChannels < 1) throw new WavError(name, 'header declares no channels')
  if (fmt.blockAlign !== fmt.numChannels * 2) throw new WavError(name, `block align ${fmt.blockAlign} does not match ${fmt.numChannels} channels of 16 bits`)
  if (data.samples.length < data.chunkSize) {
    throw new WavError(name, `truncated: header declares ${data.chunkSize} data bytes, file holds ${data.samples.length}`)
  }
  if (data.chunkSize === 0) throw new WavError(name, 'no audio data')
  if (data.chunkSize % fmt.blockAlign !== 0) throw new WavError(name, `data size ${data.chunkSize} is not a whole number of ${fmt.numChannels}-channel frames`)
  if (expect.channels !== undefined && fmt.numChannels !== expect.channels) {
    throw new WavError(name, `${fmt.numChannels} channels; the dataset declares ${expect.channels}`)
  }
  if (expect.sampleRate !== undefined && fmt.sampleRate !== expect.sampleRate) {
    throw new WavError(name, `sample rate ${fmt.sampleRate} Hz; the dataset declares ${expect.sampleRate} Hz`)
  }
  const raw = data.samples.subarray(0, data.chunkSize)
  // Copy into an aligned buffer: the chunk may start at an odd offset and WAV is little-endian like every target here.
  const samples = new Int16Array(raw.length / 2)
  new Uint8Array(samples.buffer).set(raw)
  return {sampleRate: fmt.sampleRate, channels: fmt.numChannels, samples}
}

export function readWav(file: string, expect: WavExpectation = {}): Pcm16 {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new WavError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  return parseWav(bytes, file, expect)
}

export function encodeWav(pcm: Pcm16): Uint8Array {
  const wav = new WaveFile()
  wav.fromScratch(pcm.channels, pcm.sampleRate, '16', pcm.samples)
  return wav.toBuffer()
}

export function writeWav(file: string, pcm: Pcm16): void {
  writeFileSync(file, encodeWav(pcm))
}

/** Converts float samples in [-1, 1) to 16-bit PCM with clipping, interleaving channel arrays. */
export function floatToPcm16(channels: Float32Array[] | Float64Array[], sampleRate: number): Pcm16 {
  const count = channels[0]?.length ?? 0
  const samples = new Int16Array(count * channels.length)
  for (let c = 0; c < channels.length; c++) {
    const channel = channels[c]
    for (let i = 0; i < count; i++) {
      const v = Math.round(channel[i] * 32768)
      samples[i * channels.length + c] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
    }
  }
  return {sampleRate, channels: channels.length, samples}
}
