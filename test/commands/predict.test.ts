import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {encodeWav} from '../../src/seld/io/wav.js'
import {FRAME_SECONDS, framesOf, noise, saveFixedModel, writeNoiseWav} from '../seld/predict-fixture.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(repoRoot, 'bin', 'run.js')
let project: string
let model: string
const at = (...parts: string[]) => path.join(project, ...parts)

// Wide columns: oclif would otherwise wrap error messages to the terminal width.
function predict(args: string[], options: {cwd?: string; input?: Uint8Array} = {}) {
  const run = spawnSync(process.execPath, [cli, 'predict', ...args], {
    cwd: options.cwd ?? project, input: options.input, encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '1000'},
  })
  return {code: run.status, stdout: run.stdout, stderr: run.stderr}
}

const SAMPLES = 22100
const HEADER = 'class,onset,offset,azimuth,elevation,confidence,start_azimuth,start_elevation,end_azimuth,end_elevation,angular_velocity'
const phoneRow = (samples: number) => `phone,0,${Number(((framesOf(samples) - 1) * FRAME_SECONDS).toFixed(3))},60,20,0.9,60,20,60,20,0`

beforeAll(async () => {
  if (!existsSync(path.join(repoRoot, 'dist', 'src', 'commands', 'predict.js'))) throw new Error('build first: npx tsc -p .')
  await tf.setBackend('cpu')
  project = mkdtempSync(path.join(tmpdir(), 'seldpipe-predict-'))
  writeFileSync(at('pipeline.yaml'), 'version: 1\n')
  mkdirSync(at('audio'))
  model = at('work', 'synth-foa', 'ov1_split1', 'model')
  // The fixed network says "phone at azimuth 60°, elevation 20°, activity 0.9" in every frame.
  await saveFixedModel(model, {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20})
  writeNoiseWav(at('audio', 'rec.wav'), SAMPLES)
})
afterAll(() => rmSync(project, {recursive: true, force: true}))

describe('seldpipe predict', () => {
  it('writes <recording>.csv and .png beside the input, with the newest model of the project by default', async () => {
    // Run from a sub-folder: the project is found upwards. A second, older model predicts another class.
    const older = at('work', 'synth-foa', 'ov1_split2', 'model')
    await saveFixedModel(older, {classIndex: 5, activity: 0.8, azimuth: -90, elevation: 0})
    const day = Date.now() / 1000 - 86400
    utimesSync(path.join(older, 'best'), day, day)
    const run = predict([path.join('..', 'audio', 'rec.wav')], {cwd: at('work')})
    expect(run.stderr).toContain(`model: ${path.join(model, 'best')}`)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('../audio/rec.wav: 1 event → ')
    expect(readFileSync(at('audio', 'rec.csv'), 'utf8')).toBe(`${HEADER}\n${phoneRow(SAMPLES)}\n`)
    expect(readFileSync(at('audio', 'rec.png')).subarray(1, 4).toString()).toBe('PNG')
  })

  it('writes json and dcase into --out, creating it', () => {
    const out = at('out-formats')
    expect(predict(['audio/rec.wav', '--model', model, '--out', out, '--format', 'json', '--no-plot']).code).toBe(0)
    const frames = framesOf(SAMPLES)
    expect(JSON.parse(readFileSync(path.join(out, 'rec.json'), 'utf8'))).toEqual([{
      class: 'phone', onset: 0, offset: Number(((frames - 1) * FRAME_SECONDS).toFixed(3)), azimuth: 60, elevation: 20, confidence: 0.9,
      start_azimuth: 60, start_elevation: 20, end_azimuth: 60, end_elevation: 20, angular_velocity: 0,
      track: Array.from({length: frames}, (_, f) => ({time: Number((f * FRAME_SECONDS).toFixed(3)), azimuth: 60, elevation: 20})),
    }])
    expect(readdirSync(out)).toEqual(['rec.json'])
    expect(predict(['audio/rec.wav', '--model', model, '--out', out, '--format', 'dcase', '--no-plot']).code).toBe(0)
    const rows = readFileSync(path.join(out, 'rec.csv'), 'utf8').trim().split('\n')
    // The event lasts 0 … 0.4999 s: the DCASE frames starting at 0, 0.02, … 0.48 s.
    expect(rows).toEqual(Array.from({length: 25}, (_, j) => `${j},3,60,20`))
  })

  it('predicts with a multi-ACCDOA model on log-mel and intensity-vector features as with the published one', async () => {
    const presetModel = at('work', 'synth-foa', 'ov1_split3', 'model')
    await saveFixedModel(presetModel, {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20}, {output: 'multi_accdoa', featureKind: 'logmel_iv'})
    const out = at('out-preset')
    const run = predict(['audio/rec.wav', '--model', presetModel, '--out', out])
    expect(run.stderr).toContain(`model: ${path.join(presetModel, 'best')} (synth-foa, logmel_iv features, nfft 64, multi_accdoa output, 11 classes)`)
    expect(run.code).toBe(0)
    expect(readFileSync(path.join(out, 'rec.csv'), 'utf8')).toBe(`${HEADER}\n${phoneRow(SAMPLES)}\n`)
    expect(readFileSync(path.join(out, 'rec.png')).subarray(1, 4).toString()).toBe('PNG')
  })

  it('reads a WAV from stdin with -, writing stdin.csv into --out', () => {
    const out = at('out-stdin')
    const run = predict(['-', '--model', model, '--out', out], {input: encodeWav(noise(5000))})
    expect(run.code).toBe(0)
    expect(readFileSync(path.join(out, 'stdin.csv'), 'utf8')).toBe(`${HEADER}\n${phoneRow(5000)}\n`)
    expect(existsSync(path.join(out, 'stdin.png'))).toBe(true)
  })

  it('scores the events against description files with --reference', () => {
    const desc = at('desc')
    mkdirSync(desc)
    writeFileSync(path.join(desc, 'rec.csv'), 'sound_event_recording,start_time,end_time,ele,azi,dist\nphone001.wav,0.1,0.4,20,50,2.0\nknock002.wav,0.2,0.3,0,0,1.0\n')
    const run = predict(['audio/rec.wav', '--model', model, '--out', at('out-scored'), '--no-plot', '--reference', desc])
    expect(run.code).toBe(0)
    // Phone found (60° vs 50° at elevation 20°: 9.4° apart), knock missed: F1 = 2·1 / (2·1 + 0 + 1) in the one segment.
    expect(run.stdout).toContain('F1 0.667 over 1 one-second segments; direction error median 9.4° (1 of 2 annotated events found)')
    const missing = predict(['audio/rec.wav', '--model', model, '--out', at('out-unscored'), '--no-plot', '--reference', at('work')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`${at('work', 'rec.csv')}: cannot be read (ENOENT)`)
    expect(existsSync(at('out-unscored'))).toBe(false)
    expect(predict(['-', '--model', model, '--reference', desc]).stderr).toContain('--reference matches description files by recording name')
  })

  it('applies --threshold and --min-duration', () => {
    const out = at('out-options')
    expect(predict(['audio/rec.wav', '--model', model, '--out', out, '--threshold', '0.95', '--no-plot']).code).toBe(0)
    expect(readFileSync(path.join(out, 'rec.csv'), 'utf8')).toBe(`${HEADER}\n`)
    // A recording shorter than one FFT frame gives one frame: a zero-length event, kept only with --min-duration 0.
    writeNoiseWav(at('audio', 'tiny.wav'), 40)
    expect(predict(['audio/tiny.wav', '--model', model, '--out', out, '--no-plot', '--min-duration', '0']).code).toBe(0)
    expect(readFileSync(path.join(out, 'tiny.csv'), 'utf8')).toBe(`${HEADER}\nphone,0,0,60,20,0.9,60,20,60,20,0\n`)
  })

  it('names the file with the wrong channel count or sample rate, predicts the others, and exits 1', () => {
    const out = at('out-errors')
    writeNoiseWav(at('audio', 'stereo.wav'), 5000, 2)
    writeNoiseWav(at('audio', 'fast.wav'), 5000, 4, 48000)
    writeFileSync(at('audio', 'text.wav'), 'not audio')
    const run = predict(['audio/stereo.wav', 'audio/fast.wav', 'audio/text.wav', 'audio/missing.wav', 'audio/rec.wav', '--model', model, '--out', out])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('audio/stereo.wav: 2 channels, but the model (trained on synth-foa) expects 4')
    expect(run.stderr).toContain('audio/fast.wav: sample rate 48000 Hz, but the model (trained on synth-foa) expects 44100 Hz')
    expect(run.stderr).toContain('audio/text.wav: not a readable WAV file')
    expect(run.stderr).toContain('audio/missing.wav: cannot be read (ENOENT)')
    expect(run.stderr).toContain('4 of 5 recordings failed')
    expect(readdirSync(out).sort()).toEqual(['rec.csv', 'rec.png'])
  })

  it('refuses bad arguments and missing models clearly', () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'seldpipe-predict-bare-'))
    try {
      writeFileSync(path.join(bare, 'pipeline.yaml'), 'version: 1\n')
      const none = predict([at('audio', 'rec.wav')], {cwd: bare})
      expect(none.code).toBe(1)
      expect(none.stderr).toContain(`no trained model under ${path.join(bare, 'work')}`)
      const notModel = predict(['audio/rec.wav', '--model', bare])
      expect(notModel.code).toBe(1)
      expect(notModel.stderr).toContain(`${bare}: not a trained model folder`)
    } finally {
      rmSync(bare, {recursive: true, force: true})
    }
    const threshold = predict(['audio/rec.wav', '--model', model, '--threshold', '1.5'])
    expect(threshold.code).toBe(2)
    expect(threshold.stderr).toContain("--threshold must be a number between 0 and 1 (exclusive), got '1.5'")
    const clash = predict(['audio/rec.wav', 'rec.wav', '--model', model, '--out', at('x')])
    expect(clash.code).toBe(2)
    expect(clash.stderr).toContain(`two inputs would both write ${at('x', 'rec')}.*`)
    expect(predict(['--model', model]).stderr).toContain('no recording given')
    expect(existsSync(at('x'))).toBe(false)
  })
})
