import path from 'node:path'
import {describe, expect, it} from 'vitest'
import wavefile from 'wavefile'
import {encodeWav, floatToPcm16, parseWav, readWav, WavError, writeWav, type Pcm16} from '../../src/seld/io/wav.js'
import {useWorkDir} from '../work-dir.js'

function pcm(channels: number, frames: number, sampleRate = 44100): Pcm16 {
  return {sampleRate, channels, samples: Int16Array.from({length: channels * frames}, (_, i) => ((i * 7919) % 65536) - 32768)}
}

/** A WAV written by wavefile with another sample format. */
function otherDepth(bitDepth: string, samples: ArrayLike<number>): Uint8Array {
  const wav = new wavefile.WaveFile()
  wav.fromScratch(2, 8000, bitDepth, samples)
  return wav.toBuffer()
}

const work = useWorkDir('seld-wav-')

describe('encodeWav and parseWav', () => {
  it('writes the same bytes as wavefile for every channel count', () => {
    for (const channels of [1, 2, 3, 4, 6, 8]) {
      const samples = pcm(channels, 50).samples
      const reference = new wavefile.WaveFile()
      reference.fromScratch(channels, 44100, '16', samples)
      expect(Buffer.from(encodeWav({sampleRate: 44100, channels, samples})).equals(Buffer.from(reference.toBuffer()))).toBe(true)
    }
  })

  for (const channels of [1, 2, 4, 8]) {
    it(`round-trip ${channels}-channel 16-bit PCM sample for sample`, () => {
      const original = pcm(channels, 1000)
      const back = parseWav(encodeWav(original), 'x.wav', {channels, sampleRate: 44100})
      expect(back.channels).toBe(channels)
      expect(back.sampleRate).toBe(44100)
      expect(Array.from(back.samples)).toEqual(Array.from(original.samples))
    })
  }

  it('reads a file starting at an odd byte offset and ignores bytes after the data chunk', () => {
    const bytes = encodeWav(pcm(2, 3))
    const shifted = new Uint8Array(bytes.length + 11)
    shifted.set(bytes, 1)
    expect(Array.from(parseWav(shifted.subarray(1), 'x.wav').samples)).toEqual(Array.from(pcm(2, 3).samples))
  })

  it('writes and reads files, naming a missing one', () => {
    const file = path.join(work(), 'a.wav')
    writeWav(file, pcm(4, 10, 48000))
    expect(readWav(file, {channels: 4, sampleRate: 48000}).samples).toEqual(pcm(4, 10).samples)
    expect(() => readWav(path.join(work(), 'missing.wav'))).toThrow(`${path.join(work(), 'missing.wav')}: cannot be read (ENOENT)`)
  })
})

describe('parseWav refuses, naming the file', () => {
  const refuse = (bytes: Uint8Array, message: string | RegExp, expect_ = {}) => {
    let error: unknown
    try {
      parseWav(bytes, 'take.wav', expect_)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(WavError)
    expect((error as WavError).file).toBe('take.wav')
    expect((error as Error).message).toMatch(typeof message === 'string' ? `take.wav: ${message}` : message)
  }

  it('another channel count or sample rate than expected', () => {
    refuse(encodeWav(pcm(2, 10)), '2 channels; the dataset declares 4', {channels: 4})
    refuse(encodeWav(pcm(4, 10, 48000)), 'sample rate 48000 Hz; the dataset declares 44100 Hz', {channels: 4, sampleRate: 44100})
  })

  it('another bit depth or a non-PCM format', () => {
    refuse(otherDepth('8', new Uint8Array(20)), '8-bit samples; 16-bit PCM expected')
    refuse(otherDepth('24', new Int32Array(20)), '24-bit samples; 16-bit PCM expected')
    refuse(otherDepth('32f', new Float32Array(20)), 'audio format 3 is not PCM')
    const adpcm = Buffer.from(encodeWav(pcm(2, 10)))
    adpcm.writeUInt16LE(2, adpcm.indexOf('fmt ') + 8)
    refuse(adpcm, 'audio format 2 is not PCM')
  })

  it('a truncated file, a lying header, no data', () => {
    const bytes = Buffer.from(encodeWav(pcm(2, 100)))
    refuse(bytes.subarray(0, bytes.length - 3), 'truncated: header declares 400 data bytes, file holds 397')
    refuse(bytes.subarray(0, bytes.indexOf('data') + 8), 'truncated: header declares 400 data bytes, file holds 0')
    const odd = Buffer.from(bytes)
    odd.writeUInt32LE(398, odd.indexOf('data') + 4)
    refuse(odd, 'data size 398 is not a whole number of 2-channel frames')
    const align = Buffer.from(bytes)
    align.writeUInt16LE(6, align.indexOf('fmt ') + 20)
    refuse(align, 'block align 6 does not match 2 channels of 16 bits')
    refuse(encodeWav({sampleRate: 8000, channels: 2, samples: new Int16Array(0)}), 'no audio data')
    refuse(bytes.subarray(0, bytes.indexOf('data')), /take\.wav: not a readable WAV file \(.*"data" chunk/)
  })

  it('what is not a little-endian RIFF WAV', () => {
    refuse(new Uint8Array(0), /take\.wav: not a readable WAV file/)
    refuse(new TextEncoder().encode('RIFF....not a wave at all'), /take\.wav: not a readable WAV file/)
    const rifx = new wavefile.WaveFile()
    rifx.fromScratch(2, 8000, '16', [1, 2, 3, 4])
    rifx.toRIFX()
    refuse(rifx.toBuffer(), 'RIFX container; a little-endian RIFF WAV is expected')
  })
})

describe('floatToPcm16', () => {
  it('interleaves channels, rounds to 1/32768 steps and clips', () => {
    const result = floatToPcm16([Float32Array.from([0, 0.5, 1.5]), Float32Array.from([-1, -2, 1 / 32768])], 16000)
    expect(result.channels).toBe(2)
    expect(result.sampleRate).toBe(16000)
    expect(Array.from(result.samples)).toEqual([0, -32768, 16384, -32768, 32767, 1])
  })
})
