import {closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync} from 'node:fs'
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

/** Speaker masks of the extended fmt chunk, as wavefile writes them (quad, 5.1, 7.1; none for other counts). */
const CHANNEL_MASKS: Record<number, number> = {4: 0x33, 6: 0x3f, 8: 0x63f}
const PCM_SUBFORMAT_GUID = [1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]

/**
 * Encodes 16-bit PCM as a WAV file with the same bytes as wavefile's fromScratch(channels, rate, '16', samples) —
 * above 2 channels an extended fmt chunk with a channel mask, tagged plain PCM so that readers without
 * WAVE_FORMAT_EXTENSIBLE support (Python's wave module) still open it — but as a header plus one copy: wavefile packs
 * sample by sample (~3 s for a 30 s 4-channel file, more than the whole synthesis of it).
 */
export function encodeWav(pcm: Pcm16): Uint8Array {
  const extensible = pcm.channels > 2
  const headerBytes = extensible ? 68 : 44
  const dataBytes = pcm.samples.length * 2
  const out = new Uint8Array(headerBytes + dataBytes)
  const view = new DataView(out.buffer)
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i)
  }
  ascii(0, 'RIFF')
  view.setUint32(4, headerBytes - 8 + dataBytes, true)
  ascii(8, 'WAVE')
  ascii(12, 'fmt ')
  view.setUint32(16, extensible ? 40 : 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, pcm.channels, true)
  view.setUint32(24, pcm.sampleRate, true)
  view.setUint32(28, pcm.sampleRate * pcm.channels * 2, true)
  view.setUint16(32, pcm.channels * 2, true)
  view.setUint16(34, 16, true)
  if (extensible) {
    view.setUint16(36, 22, true)
    view.setUint16(38, 16, true)
    view.setUint32(40, CHANNEL_MASKS[pcm.channels] ?? 0, true)
    out.set(PCM_SUBFORMAT_GUID, 44)
  }
  ascii(headerBytes - 8, 'data')
  view.setUint32(headerBytes - 4, dataBytes, true)
  // WAV is little-endian, like every platform this runs on.
  out.set(new Uint8Array(pcm.samples.buffer, pcm.samples.byteOffset, dataBytes), headerBytes)
  return out
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

/** 16-bit PCM audio read on demand, so a long recording need not be held in memory whole. */
export interface AudioReader {
  sampleRate: number
  channels: number
  /** Sample frames per channel. */
  length: number
  /** Interleaved samples of frames `start` … `end` − 1. */
  read(start: number, end: number): Int16Array
}

/** An in-memory recording as an AudioReader. */
export function pcmReader(pcm: Pcm16): AudioReader {
  return {
    sampleRate: pcm.sampleRate, channels: pcm.channels, length: pcm.samples.length / pcm.channels,
    read: (start, end) => pcm.samples.subarray(start * pcm.channels, end * pcm.channels),
  }
}

const HEADER_PROBE_BYTES = 64 * 1024

/**
 * Opens a 16-bit PCM WAV file for reading spans of it (with the checks of parseWav): only its header is read now.
 * `name` is used in errors. Close it with `close()`.
 */
export function openWavFile(file: string, expect: WavExpectation = {}, name = file): AudioReader & {close(): void} {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    throw new WavError(name, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const size = fstatSync(fd).size
    const header = Buffer.alloc(Math.min(size, HEADER_PROBE_BYTES))
    readSync(fd, header, 0, header.length, 0)
    const fail = (problem: string) => new WavError(name, problem)
    const container = header.toString('latin1', 0, 4)
    if (header.length < 12 || header.toString('latin1', 8, 12) !== 'WAVE' || !['RIFF', 'RIFX', 'RF64'].includes(container)) throw fail('not a readable WAV file (no RIFF/WAVE header)')
    if (container !== 'RIFF') throw fail(`${container} container; a little-endian RIFF WAV is expected`)
    let fmt: FmtChunk | undefined
    let dataOffset = -1
    let dataBytes = 0
    for (let at = 12; at + 8 <= header.length; ) {
      const id = header.toString('latin1', at, at + 4)
      const chunkSize = header.readUInt32LE(at + 4)
      if (id === 'fmt ' && at + 24 <= header.length) {
        fmt = {audioFormat: header.readUInt16LE(at + 8), numChannels: header.readUInt16LE(at + 10), sampleRate: header.readUInt32LE(at + 12), blockAlign: header.readUInt16LE(at + 20), bitsPerSample: header.readUInt16LE(at + 22)}
      } else if (id === 'data') {
        dataOffset = at + 8
        dataBytes = chunkSize
        break
      }
      at += 8 + chunkSize + (chunkSize % 2)
    }
    if (fmt === undefined) throw fail('not a readable WAV file (no fmt chunk)')
    if (dataOffset < 0) throw fail('not a readable WAV file (no data chunk)')
    if (fmt.audioFormat !== 1 && fmt.audioFormat !== 0xfffe) throw fail(`audio format ${fmt.audioFormat} is not PCM`)
    if (fmt.bitsPerSample !== 16) throw fail(`${fmt.bitsPerSample}-bit samples; 16-bit PCM expected`)
    if (fmt.numChannels < 1) throw fail('header declares no channels')
    if (fmt.blockAlign !== fmt.numChannels * 2) throw fail(`block align ${fmt.blockAlign} does not match ${fmt.numChannels} channels of 16 bits`)
    if (size - dataOffset < dataBytes) throw fail(`truncated: header declares ${dataBytes} data bytes, file holds ${size - dataOffset}`)
    if (dataBytes === 0) throw fail('no audio data')
    if (dataBytes % fmt.blockAlign !== 0) throw fail(`data size ${dataBytes} is not a whole number of ${fmt.numChannels}-channel frames`)
    if (expect.channels !== undefined && fmt.numChannels !== expect.channels) throw fail(`${fmt.numChannels} channels; the dataset declares ${expect.channels}`)
    if (expect.sampleRate !== undefined && fmt.sampleRate !== expect.sampleRate) throw fail(`sample rate ${fmt.sampleRate} Hz; the dataset declares ${expect.sampleRate} Hz`)
    const {numChannels: channels, blockAlign} = fmt
    return {
      sampleRate: fmt.sampleRate, channels, length: dataBytes / blockAlign,
      read(start, end) {
        const samples = new Int16Array((end - start) * channels)
        const bytes = new Uint8Array(samples.buffer)
        for (let done = 0; done < bytes.length; ) {
          const read = readSync(fd, bytes, done, bytes.length - done, dataOffset + start * blockAlign + done)
          if (read === 0) throw fail('ended while being read')
          done += read
        }
        return samples
      },
      close: () => closeSync(fd),
    }
  } catch (error) {
    closeSync(fd)
    throw error
  }
}
