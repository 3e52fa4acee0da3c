import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {loadPredictor, pcmSource, predictFrames, SPECTROGRAM_COLUMNS, type Predictor} from '../../src/seld/predict/predictor.js'
import {encodeWav, openWavFile, parseWav, readWav} from '../../src/seld/io/wav.js'
import {framesOf, noise, NFFT, saveFixedModel} from './predict-fixture.js'

let root: string
let predictor: Predictor

beforeAll(async () => {
  await tf.setBackend('cpu')
  root = mkdtempSync(join(tmpdir(), 'seld-predict-stream-'))
  await saveFixedModel(join(root, 'model'), {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20})
  predictor = await loadPredictor(join(root, 'model'))
})
afterAll(() => rmSync(root, {recursive: true, force: true}))

function messageOf(action: () => unknown): string {
  try {
    action()
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected a refusal')
}

describe('openWavFile', () => {
  it('reads any span of a WAV file as readWav reads the whole', () => {
    const file = join(root, 'rec.wav')
    writeFileSync(file, encodeWav(noise(5000)))
    const whole = readWav(file)
    const reader = openWavFile(file)
    try {
      expect([reader.sampleRate, reader.channels, reader.length]).toEqual([whole.sampleRate, whole.channels, 5000])
      expect(Array.from(reader.read(1234, 2345))).toEqual(Array.from(whole.samples.subarray(1234 * 4, 2345 * 4)))
    } finally {
      reader.close()
    }
  })

  it('refuses what parseWav refuses, with the same messages', () => {
    const bytes = encodeWav(noise(100))
    const cases: [string, Uint8Array][] = [
      ['truncated.wav', bytes.subarray(0, bytes.length - 10)],
      ['text.wav', new TextEncoder().encode('not audio at all, just some text')],
      ['empty-data.wav', encodeWav({sampleRate: 44100, channels: 4, samples: new Int16Array(0)})],
    ]
    for (const [name, content] of cases) {
      const file = join(root, name)
      writeFileSync(file, content)
      expect(() => openWavFile(file), name).toThrow(new RegExp(`^${file}: `))
      // wavefile words a missing header its own way; every other refusal reads the same.
      if (name !== 'text.wav') expect(() => openWavFile(file), name).toThrow(messageOf(() => parseWav(content, file)))
    }
    expect(() => openWavFile(join(root, 'absent.wav'))).toThrow(`${join(root, 'absent.wav')}: cannot be read (ENOENT)`)
  })
})

describe('predicting from a file reader', () => {
  it('gives the same predictions and spectrogram as from the recording in memory', async () => {
    const file = join(root, 'same.wav')
    const pcm = noise(22100)
    writeFileSync(file, encodeWav(pcm))
    const reader = openWavFile(file)
    try {
      const streamed = await predictFrames(predictor, reader, file)
      const inMemory = await predictFrames(predictor, pcm, file)
      expect(Array.from(streamed.predictions.sed)).toEqual(Array.from(inMemory.predictions.sed))
      expect(Array.from(streamed.predictions.doa)).toEqual(Array.from(inMemory.predictions.doa))
      expect(Array.from(streamed.spectrogram.values)).toEqual(Array.from(inMemory.spectrogram.values))
    } finally {
      reader.close()
    }
  })

  it('pools the picture spectrogram of a long recording into at most SPECTROGRAM_COLUMNS columns (the maximum per column)', async () => {
    const samples = (SPECTROGRAM_COLUMNS * 2 + 100) * (NFFT / 2)
    const pcm = noise(samples)
    const frames = framesOf(samples)
    const scaler = {featureShape: [NFFT / 2, 8], count: 1, mean: new Array(NFFT * 4).fill(0), scale: new Array(NFFT * 4).fill(1)}
    const source = pcmSource(pcm, NFFT, scaler, 'long.wav')
    const step = Math.ceil(frames / SPECTROGRAM_COLUMNS)
    expect(step).toBe(3)
    expect(source.spectrogram).toMatchObject({frames: Math.ceil(frames / step), frameStep: step})
    const bins = NFFT / 2
    const values = new Float32Array(frames * bins * 8)
    for (let start = 0; start < frames; start += 16) await source.read(start, Math.min(16, frames - start), values.subarray(start * bins * 8))
    // Column 5 holds the maximum of frames 15, 16 and 17 of channel 0, bin 7.
    const at = (frame: number) => values[frame * bins * 8 + 7 * 8]
    expect(source.spectrogram.values[5 * bins + 7]).toBe(Math.max(at(15), at(16), at(17)))
    expect(source.spectrogram.values.some(Number.isNaN)).toBe(false)
  })
})
