import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {CSV_HEADER, DEFAULT_EVENT_OPTIONS} from '../../src/seld/predict/events.js'
import {computeFeatures} from '../../src/seld/features/features.js'
import {applyScaler} from '../../src/seld/features/scaler.js'
import {loadPredictor, outputStem, pcmSource, predictFrames, predictToFiles, projectRoot, readAnnotations, type Predictor} from '../../src/seld/predict/predictor.js'
import {classNames, datasetSpec} from '../../src/seld/features/datasets.js'
import {latestModelDir, readPredictInfo, resolveModelDir} from '../../src/seld/model/model-folder.js'
import {CLASS_NAMES, FRAME_SECONDS, framesOf, noise, NFFT, saveFixedModel} from './predict-fixture.js'

let root: string
let predictor: Predictor
const FIXED = {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20}

beforeAll(async () => {
  await tf.setBackend('cpu')
  root = mkdtempSync(join(tmpdir(), 'seld-predict-'))
  await saveFixedModel(join(root, 'model'), FIXED)
  predictor = await loadPredictor(join(root, 'model'))
})
afterAll(() => rmSync(root, {recursive: true, force: true}))

describe('model folders', () => {
  it('accepts the train output folder or its best/ folder', () => {
    expect(resolveModelDir(join(root, 'model'))).toBe(join(root, 'model', 'best'))
    expect(resolveModelDir(join(root, 'model', 'best'))).toBe(join(root, 'model', 'best'))
    expect(() => resolveModelDir(root)).toThrow(`${root}: not a trained model folder`)
  })

  it('reads the feature settings and scaler stored beside the model', () => {
    const {info, scaler} = readPredictInfo(join(root, 'model', 'best'))
    expect(info).toEqual({dataset: 'synth-foa', nfft: NFFT, sampleRate: 44100, channels: 4, classes: CLASS_NAMES, featureKind: 'stft', output: 'seldnet'})
    expect(scaler.featureShape).toEqual([NFFT / 2, 8])
    expect(predictor.info).toEqual(info)
  })

  it('refuses a model without seld.json, or with a broken one, naming the folder or file', () => {
    const bare = join(root, 'bare', 'best')
    mkdirSync(bare, {recursive: true})
    expect(() => readPredictInfo(bare)).toThrow(`${bare}: no seld.json in it or its parent folder`)
    writeFileSync(join(root, 'bare', 'seld.json'), '{"dataset": "synth-foa", "nfft": 64}')
    expect(() => readPredictInfo(bare)).toThrow(`${join(root, 'bare', 'seld.json')}: expected {dataset, nfft, sampleRate, channels, classes: [names]}`)
  })

  it('finds the newest work/*/*/model/best of the project, from the project or a folder inside it', async () => {
    const project = join(root, 'project')
    mkdirSync(join(project, 'notes', 'deep'), {recursive: true})
    writeFileSync(join(project, 'pipeline.yaml'), 'version: 1\n')
    expect(projectRoot(join(project, 'notes', 'deep'))).toBe(project)
    expect(() => latestModelDir(project)).toThrow(`no trained model under ${join(project, 'work')}`)
    const older = join(project, 'work', 'synth-foa', 'ov1_split1', 'model')
    const newer = join(project, 'work', 'ansim', 'ov1_split2', 'model')
    await saveFixedModel(older, FIXED)
    await saveFixedModel(newer, FIXED)
    // An unfinished folder without model.json is not a model.
    mkdirSync(join(project, 'work', 'resim', 'ov1_split1', 'model', 'best'), {recursive: true})
    const day = Date.now() / 1000 - 86400
    utimesSync(join(newer, 'best'), day, day)
    expect(latestModelDir(project)).toBe(join(older, 'best'))
    utimesSync(join(older, 'best'), day - 60, day - 60)
    expect(latestModelDir(project)).toBe(join(newer, 'best'))
  })

  it('refuses a network whose shape disagrees with seld.json', async () => {
    const other = join(root, 'mismatch')
    await saveFixedModel(other, FIXED)
    const info = JSON.parse(readFileSync(join(other, 'seld.json'), 'utf8'))
    writeFileSync(join(other, 'seld.json'), JSON.stringify({...info, nfft: 128}))
    await expect(loadPredictor(other)).rejects.toThrow(/takes 32 bins × 8 channels and gives 11 classes, but seld.json describes stft features with nfft 128 of 4 audio channels \(64 bins × 8 channels\)/)
    writeFileSync(join(other, 'seld.json'), JSON.stringify(info))
    const scaler = JSON.parse(readFileSync(join(other, 'scaler.json'), 'utf8'))
    writeFileSync(join(other, 'scaler.json'), JSON.stringify({...scaler, featureShape: [16, 16]}))
    await expect(loadPredictor(other)).rejects.toThrow(`${join(other, 'best')}: the stored scaler.json scales features of shape (16, 16), the network takes (32, 8)`)
  })
})

describe('predictFrames', () => {
  it('predicts every frame of a recording whose length is not a multiple of the sequence length', async () => {
    const samples = 22100
    const frames = framesOf(samples)
    expect(frames % 16).not.toBe(0)
    const {spectrogram, predictions} = await predictFrames(predictor, noise(samples), 'noise.wav')
    expect([spectrogram.frames, spectrogram.bins]).toEqual([frames, NFFT / 2])
    expect(predictions.frames).toBe(frames)
    expect(predictions.frameSeconds).toBeCloseTo(FRAME_SECONDS, 12)
    const K = CLASS_NAMES.length
    for (const f of [0, frames - 1]) {
      expect(predictions.sed[f * K + 3]).toBeCloseTo(0.9, 5)
      expect(predictions.sed[f * K + 2]).toBeLessThan(1e-4)
      expect(predictions.doa[f * 3 * K + 2 * K + 3]).toBeCloseTo(Math.sin((20 * Math.PI) / 180), 5)
    }
  })

  it('works on a recording shorter than one FFT frame (one frame, padded at the end)', async () => {
    const {predictions} = await predictFrames(predictor, noise(NFFT - 10), 'short.wav')
    expect(predictions.frames).toBe(1)
  })

  it('refuses audio of another channel count or sample rate, naming the recording', async () => {
    await expect(predictFrames(predictor, noise(2000, 2), 'two.wav')).rejects.toThrow('two.wav: 2 channels, but the model (trained on synth-foa) expects 4')
    await expect(predictFrames(predictor, noise(2000, 4, 48000), 'fast.wav')).rejects.toThrow('fast.wav: sample rate 48000 Hz, but the model (trained on synth-foa) expects 44100 Hz')
  })
})

describe('pcmSource', () => {
  it('reads, chunk by chunk, exactly the scaled features of the whole recording, zeros past its end', async () => {
    const pcm = noise(5000)
    const frames = framesOf(5000)
    const bins = NFFT / 2
    const size = bins * 8
    const scaler = {
      featureShape: [bins, 8], count: 1,
      mean: Array.from({length: size}, (_, i) => (i % 7) / 10), scale: Array.from({length: size}, (_, i) => 1 + (i % 5)),
    }
    const whole = computeFeatures(pcm, NFFT, frames)
    applyScaler(scaler, whole)
    const source = pcmSource(pcm, NFFT, scaler, 'noise.wav')
    expect([source.frames, source.bins, source.featureChannels]).toEqual([frames, bins, 8])
    const chunked = new Float32Array((frames + 5) * size)
    for (let start = 0; start < frames + 5; start += 7) {
      const count = Math.min(7, frames + 5 - start)
      await source.read(start, count, chunked.subarray(start * size, (start + count) * size))
    }
    expect(Array.from(chunked.subarray(0, frames * size))).toEqual(Array.from(whole.data))
    expect(chunked.subarray(frames * size).every((v) => v === 0)).toBe(true)
    // The picture's spectrogram is channel 0 (first magnitude) of every frame read.
    expect(source.spectrogram.values[(frames - 1) * bins + 3]).toBe(whole.data[(frames - 1) * size + 3 * 8])
  })
})

describe('every preset', () => {
  it('predicts the same events with a model of every output and feature preset', async () => {
    const presets = [
      {output: 'seldnet', featureKind: 'stft'}, {output: 'accdoa', featureKind: 'stft'},
      {output: 'accdoa', featureKind: 'logmel_iv'}, {output: 'multi_accdoa', featureKind: 'logmel_iv'},
      {output: 'multi_accdoa', featureKind: 'logmel_gcc'},
    ] as const
    for (const preset of presets) {
      const dir = join(root, `preset-${preset.output}-${preset.featureKind}`)
      await saveFixedModel(dir, FIXED, preset)
      const loaded = await loadPredictor(dir)
      const {info, model} = loaded
      expect(info).toMatchObject({output: preset.output, featureKind: preset.featureKind})
      expect(model.inputs[0].shape.slice(2)).toEqual(preset.featureKind === 'stft' ? [NFFT / 2, 8] : preset.featureKind === 'logmel_iv' ? [8, 7] : [8, 4 + 6])
      const {events, outputFile} = await predictToFiles(loaded, noise(22100), 'noise.wav', join(dir, 'noise'), {format: 'csv', events: DEFAULT_EVENT_OPTIONS, plot: false})
      expect(events.map(({className, azimuth, elevation, confidence}) => [className, Math.round(azimuth), Math.round(elevation), +confidence.toFixed(5)]), `${preset.output} ${preset.featureKind}`)
        .toEqual([[CLASS_NAMES[3], 60, 20, 0.9]])
      expect(readFileSync(outputFile, 'utf8').split('\n')[1]).toMatch(/^phone,0,[0-9.]+,60,20,0.9,60,20,60,20,0$/)
    }
  })

  it('refuses a seld.json naming a feature kind this version does not compute', async () => {
    const dir = join(root, 'preset-unknown')
    await saveFixedModel(dir, FIXED, {output: 'accdoa', featureKind: 'logmel_iv'})
    const info = JSON.parse(readFileSync(join(dir, 'seld.json'), 'utf8'))
    writeFileSync(join(dir, 'seld.json'), JSON.stringify({...info, featureKind: 'salsa'}))
    await expect(loadPredictor(dir)).rejects.toThrow(`${join(dir, 'seld.json')}: featureKind 'salsa' with melBands 8 is not a feature preset this version computes`)
    // A folder written before the presets existed names neither: its network takes the published features.
    const published = join(root, 'preset-none')
    await saveFixedModel(published, FIXED)
    const {featureKind, output, ...older} = JSON.parse(readFileSync(join(published, 'seld.json'), 'utf8'))
    expect([featureKind, output]).toEqual(['stft', 'seldnet'])
    writeFileSync(join(published, 'seld.json'), JSON.stringify(older))
    const {events} = await predictToFiles(await loadPredictor(published), noise(5000), 'noise.wav', join(published, 'noise'), {format: 'csv', events: DEFAULT_EVENT_OPTIONS, plot: false})
    expect(events.map((event) => event.className)).toEqual([CLASS_NAMES[3]])
  })
})

describe('predictToFiles', () => {
  it('writes the events and the picture under the stem', async () => {
    const samples = 22100
    const stem = join(root, 'out', 'rec')
    const result = await predictToFiles(predictor, noise(samples), 'rec.wav', stem, {format: 'csv', events: DEFAULT_EVENT_OPTIONS, plot: true})
    expect(result.outputFile).toBe(`${stem}.csv`)
    expect(result.pictureFile).toBe(`${stem}.png`)
    const offset = ((framesOf(samples) - 1) * FRAME_SECONDS).toFixed(3)
    expect(readFileSync(`${stem}.csv`, 'utf8')).toBe(`${CSV_HEADER}\nphone,0,${Number(offset)},60,20,0.9,60,20,60,20,0\n`)
    expect(readFileSync(`${stem}.png`).subarray(1, 4).toString()).toBe('PNG')
    expect(CLASS_NAMES[3]).toBe('phone')
  })

  it('skips the picture when asked', async () => {
    const stem = join(root, 'out', 'quiet')
    const result = await predictToFiles(predictor, noise(3000), 'quiet.wav', stem, {format: 'json', events: DEFAULT_EVENT_OPTIONS, plot: false})
    expect(result.pictureFile).toBeUndefined()
    expect(existsSync(`${stem}.png`)).toBe(false)
    expect(JSON.parse(readFileSync(`${stem}.json`, 'utf8'))).toHaveLength(1)
  })
})

describe('outputStem', () => {
  it('puts outputs beside the input, in --out, or for stdin in the current folder', () => {
    expect(outputStem('data/a/rec.wav')).toBe(resolve('data/a/rec'))
    expect(outputStem('data/a/rec.wav', 'predictions')).toBe(resolve('predictions/rec'))
    expect(outputStem('-')).toBe(resolve('stdin'))
    expect(outputStem('-', '/tmp/x')).toBe('/tmp/x/stdin')
  })
})

describe('readAnnotations', () => {
  it('reads classes the way the model\'s dataset names its files, moving sources included', () => {
    const dir = join(root, 'annotations')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'test_0.csv'), 'sound_event_recording,start_time,end_time,ele,azi,ang_vel,dist\n31561-4-0-5.wav,0.3,2.6,10,-50,-40,1.3\n')
    const [event] = readAnnotations(dir, 'test_0', classNames(datasetSpec('mreal')), 'mreal')
    expect(event).toMatchObject({className: '4', classColumn: 2, motion: {kind: 'azimuth-ramp', angularVelocity: -40}})
    // Without the dataset, DCASE 2016 names are assumed: this file name holds no such class.
    expect(() => readAnnotations(dir, 'test_0', classNames(datasetSpec('mreal')))).toThrow(/test_0\.csv:2: unknown class '31561-4-' of '31561-4-0-5\.wav'/)
  })
})
