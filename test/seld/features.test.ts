import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import wavefile from 'wavefile'
import {frameCount} from '../../src/seld/features/datasets.js'
import {computeFeatures, extractFeatureFile, featureJobs} from '../../src/seld/features/features.js'
import {readNpy} from '../../src/seld/io/npy.js'
import {Stft} from '../../src/seld/features/stft.js'
import {encodeWav, type Pcm16} from '../../src/seld/io/wav.js'
import {useWorkDir} from '../work-dir.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** A recording of `seconds` with a different tone and noise per channel. */
function recording(channels: number, sampleRate: number, seconds: number, seed = 1): Pcm16 {
  const length = Math.round(seconds * sampleRate)
  const samples = new Int16Array(length * channels)
  let state = seed
  for (let i = 0; i < samples.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    const c = i % channels
    samples[i] = Math.round(6000 * Math.sin((Math.floor(i / channels) * (c + 1) * 0.05)) + (state >>> 20) - 2048)
  }
  return {sampleRate, channels, samples}
}

const work = useWorkDir('seld-features-')

describe('computeFeatures', () => {
  it('is frames × bins × (C magnitudes, C phases) of the STFT, over the recording\'s own length by default', () => {
    const pcm = recording(4, 8000, 0.5)
    const features = computeFeatures(pcm, 256)
    const frames = frameCount(4000, 256)
    expect(features.shape).toEqual([frames, 128, 8])
    expect(Array.from(features.data)).toEqual(Array.from(new Stft(256).magnitudePhase(pcm, frames)))
  })

  it('pads with silence or cuts to the frames asked for', () => {
    const pcm = recording(2, 8000, 0.25)
    const own = computeFeatures(pcm, 128)
    const padded = computeFeatures(pcm, 128, own.shape[0] + 10)
    const row = 64 * 4
    expect(Array.from(padded.data.subarray(0, own.data.length))).toEqual(Array.from(own.data))
    expect(padded.data.subarray((own.shape[0] + 2) * row).every((value) => value === 0)).toBe(true)
    const cut = computeFeatures(pcm, 128, 3)
    expect(Array.from(cut.data)).toEqual(Array.from(own.data.subarray(0, 3 * row)))
  })

  it('refuses a recording shorter than one frame, naming it', () => {
    expect(() => computeFeatures(recording(1, 8000, 0.01), 512, undefined, 'tiny.wav')).toThrow('tiny.wav: 80 samples per channel is shorter than one frame of 512')
  })
})

describe('extractFeatureFile', () => {
  const settings = {nfft: 256, seconds: 1, channels: 4, sampleRate: 8000}
  const write = (name: string, bytes: Uint8Array) => {
    const file = path.join(work(), name)
    writeFileSync(file, bytes)
    return file
  }
  const npy = () => path.join(work(), 'out.npy')

  it('pads a shorter recording to the fixed length', () => {
    const wav = write('short.wav', encodeWav(recording(4, 8000, 0.6)))
    extractFeatureFile(wav, npy(), settings)
    const features = readNpy(npy())
    expect(features.shape).toEqual([frameCount(8000, 256), 128, 8])
    expect(Array.from(features.data)).toEqual(Array.from(computeFeatures(recording(4, 8000, 0.6), 256, frameCount(8000, 256)).data))
  })

  const refusals: Array<[string, () => Uint8Array, RegExp]> = [
    ['another channel count', () => encodeWav(recording(2, 8000, 1)), /2 channels; the dataset declares 4/],
    ['another sample rate', () => encodeWav(recording(4, 16000, 1)), /sample rate 16000 Hz; the dataset declares 8000 Hz/],
    ['another bit depth', () => {
      const wav = new wavefile.WaveFile()
      wav.fromScratch(4, 8000, '24', new Int32Array(4 * 100))
      return wav.toBuffer()
    }, /24-bit samples; 16-bit PCM expected/],
    ['a truncated file', () => encodeWav(recording(4, 8000, 1)).subarray(0, 20_000), /truncated: header declares 64000 data bytes, file holds \d+/],
    ['a header lying about the data size', () => {
      const bytes = Buffer.from(encodeWav(recording(4, 8000, 1)))
      bytes.writeUInt32LE(63_998, bytes.indexOf('data') + 4)
      return bytes
    }, /data size 63998 is not a whole number of 4-channel frames/],
    ['no audio data', () => encodeWav({sampleRate: 8000, channels: 4, samples: new Int16Array(0)}), /no audio data/],
    ['not a WAV at all', () => new TextEncoder().encode('sound_event_recording,start_time\n'), /not a readable WAV file/],
  ]
  for (const [problem, bytes, message] of refusals) {
    it(`refuses ${problem}, naming the file and writing nothing`, () => {
      const wav = write('bad.wav', bytes())
      expect(() => extractFeatureFile(wav, npy(), settings)).toThrow(new RegExp(`^${wav.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${message.source}`))
      expect(readdirSync(work())).toEqual(['bad.wav'])
    })
  }
})

describe('featureJobs', () => {
  it('maps every recording of a folder to its feature file, in name order', () => {
    for (const name of ['train_1.wav', 'test_0.WAV', 'train_0.wav', 'notes.txt']) writeFileSync(path.join(work(), name), '')
    expect(featureJobs(work(), '/out')).toEqual([
      {wav: path.join(work(), 'test_0.WAV'), npy: '/out/test_0.npy'},
      {wav: path.join(work(), 'train_0.wav'), npy: '/out/train_0.npy'},
      {wav: path.join(work(), 'train_1.wav'), npy: '/out/train_1.npy'},
    ])
  })

  it('refuses a folder without recordings', () => {
    expect(() => featureJobs(work(), work())).toThrow(/no \.wav recordings/)
  })
})

describe('extractFeatureFiles', () => {
  it('rejects with the first failure after the other threads finish the recording they hold', async () => {
    const wav = path.join(work(), 'wav')
    const out = path.join(work(), 'out')
    mkdirSync(wav)
    mkdirSync(out)
    writeFileSync(path.join(wav, 'a.wav'), encodeWav(recording(4, 44100, 0.3, 1)))
    writeFileSync(path.join(wav, 'b.wav'), encodeWav(recording(4, 48000, 0.1, 2)))
    for (const name of ['c', 'd', 'e', 'f']) writeFileSync(path.join(wav, `${name}.wav`), encodeWav(recording(4, 44100, 0.1, 3)))
    const settings = {nfft: 512, channels: 4, sampleRate: 44100}
    // The compiled module: its worker threads load the compiled worker script beside it.
    const {extractFeatureFiles} = (await import(path.join(repoRoot, 'dist/src/seld/features/features.js'))) as typeof import('../../src/seld/features/features.js')
    await expect(extractFeatureFiles(featureJobs(wav, out), settings, 2)).rejects.toThrow(/b\.wav: sample rate 48000 Hz/)
    // The other thread finishes what it holds: every file written is whole (how many depends on the threads' timing).
    expect(readdirSync(out)).toContain('a.npy')
    for (const name of readdirSync(out)) expect(readNpy(path.join(out, name)).shape.slice(1), name).toEqual([256, 8])
  })
})

// The compiled stage and command, as the pipeline and users run them (`npm test` builds first).
describe('features stage and command', () => {
  const stage = (wavDir: string, ...args: string[]) =>
    spawnSync('node', [path.join(repoRoot, 'dist/stages/features.js'), '--dataset', 'ansim', '--nfft', '1024', '--wav', wavDir, '--out', path.join(work(), 'features'), ...args], {encoding: 'utf8'})

  it('writes a fixed-length feature file per recording on worker threads, as one thread computes it', () => {
    mkdirSync(path.join(work(), 'wav'))
    const recordings = Object.fromEntries(['train_0', 'train_1', 'test_0'].map((name, i) => [name, recording(4, 44100, 0.5 + i, i + 1)]))
    for (const [name, pcm] of Object.entries(recordings)) writeFileSync(path.join(work(), 'wav', `${name}.wav`), encodeWav(pcm))
    const run = stage(path.join(work(), 'wav'))
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(readdirSync(path.join(work(), 'features')).sort()).toEqual(['test_0.npy', 'train_0.npy', 'train_1.npy'])
    const frames = frameCount(30 * 44100, 1024)
    for (const [name, pcm] of Object.entries(recordings)) {
      const features = readNpy(path.join(work(), 'features', `${name}.npy`))
      expect(features.shape).toEqual([frames, 512, 8])
      expect(Buffer.from(features.data.buffer).equals(Buffer.from(computeFeatures(pcm, 1024, frames).data.buffer))).toBe(true)
    }
  })

  it('computes the feature kind asked for, and refuses one that does not fit the dataset before reading anything', () => {
    mkdirSync(path.join(work(), 'wav'))
    const pcm = recording(4, 44100, 0.5, 3)
    writeFileSync(path.join(work(), 'wav', 'train_0.wav'), encodeWav(pcm))
    const run = stage(path.join(work(), 'wav'), '--kind', 'logmel_iv', '--mel-bands', '32')
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain('logmel_iv features of 1 recordings')
    const frames = frameCount(30 * 44100, 1024)
    const features = readNpy(path.join(work(), 'features', 'train_0.npy'))
    expect(features.shape).toEqual([frames, 32, 7])
    expect(Buffer.from(features.data.buffer).equals(Buffer.from(computeFeatures(pcm, {kind: 'logmel_iv', nfft: 1024, melBands: 32}, frames).data.buffer))).toBe(true)
    rmSync(path.join(work(), 'features'), {recursive: true})
    const arrays = spawnSync('node', [path.join(repoRoot, 'dist/stages/features.js'), '--dataset', 'cansim', '--nfft', '1024', '--kind', 'logmel_iv', '--wav', path.join(work(), 'wav'), '--out', path.join(work(), 'features')], {encoding: 'utf8'})
    expect(arrays.status).toBe(1)
    expect(arrays.stderr).toBe('error: cansim: logmel_iv features need first-order Ambisonics (4 channels W, Y, Z, X), got 8 channels; for a microphone array set features.kind=logmel_gcc (or stft)\n')
    expect(readdirSync(work())).toEqual(['wav'])
  })

  it('fails on a recording of the wrong format, naming it, and leaves no features folder', () => {
    mkdirSync(path.join(work(), 'wav'))
    writeFileSync(path.join(work(), 'wav', 'train_0.wav'), encodeWav(recording(4, 44100, 1)))
    writeFileSync(path.join(work(), 'wav', 'train_1.wav'), encodeWav(recording(4, 48000, 1)))
    const run = stage(path.join(work(), 'wav'))
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^error: .*train_1\.wav: sample rate 48000 Hz; the dataset declares 44100 Hz/)
    expect(readdirSync(work())).toEqual(['wav'])
  })

  it('reports the bad recording, never an abort, however the worker threads are timed (repeated runs)', () => {
    mkdirSync(path.join(work(), 'wav'))
    // The bad file is the first job, so the other thread is still starting up (compiling) when it is rejected.
    writeFileSync(path.join(work(), 'wav', 'a_bad.wav'), encodeWav(recording(2, 44100, 0.1)))
    for (let i = 0; i < 4; i++) writeFileSync(path.join(work(), 'wav', `train_${i}.wav`), encodeWav(recording(4, 44100, 0.2, i + 1)))
    for (let run = 0; run < 5; run++) {
      const result = stage(path.join(work(), 'wav'))
      expect(result.signal).toBeNull()
      expect(result.status).toBe(1)
      expect(result.stderr).toMatch(/^error: .*a_bad\.wav: 2 channels/)
      expect(readdirSync(work())).toEqual(['wav'])
    }
  }, 60_000)

  it('seldpipe features uses the file\'s own length unless --seconds fixes one', () => {
    const wav = path.join(work(), 'take.wav')
    writeFileSync(wav, encodeWav(recording(3, 16000, 0.5)))
    const cli = (...args: string[]) => spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'features', wav, ...args], {encoding: 'utf8'})
    const own = cli('--nfft', '256', '--out', path.join(work(), 'own.npy'))
    expect(own.status).toBe(0)
    expect(readNpy(path.join(work(), 'own.npy')).shape).toEqual([frameCount(8000, 256), 128, 6])
    const fixed = cli('--nfft', '256', '--out', path.join(work(), 'fixed.npy'), '--seconds', '2')
    expect(fixed.status).toBe(0)
    expect(readNpy(path.join(work(), 'fixed.npy')).shape).toEqual([frameCount(32000, 256), 128, 6])
    const gcc = cli('--nfft', '256', '--kind', 'logmel_gcc', '--mel-bands', '16', '--out', path.join(work(), 'gcc.npy'))
    expect(gcc.stderr).toBe('')
    expect(readNpy(path.join(work(), 'gcc.npy')).shape).toEqual([frameCount(8000, 256), 16, 3 + 3])
    const bad = cli('--out', path.join(work(), 'bad.npy'), '--seconds', 'soon')
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/--seconds must be a positive number/)
    expect(existsSync(path.join(work(), 'bad.npy'))).toBe(false)
  })
})
