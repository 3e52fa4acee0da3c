import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {listRecordings} from '../../src/seld/train/recordings.js'
import {Random} from '../../src/seld/synth/random.js'
import {buildSeldnet, type ModelConfig} from '../../src/seld/model/model.js'
import {outputKindOf} from '../../src/seld/model/outputs.js'
import {loadModel} from '../../src/seld/model/model-io.js'
import {readNpy, writeNpy} from '../../src/seld/io/npy.js'
import {initBackend} from '../../src/seld/model/backend.js'
import {normalizeDirectory} from '../../src/seld/features/scaler.js'
import {trainSeldnet, type TrainRun} from '../../src/seld/train/training.js'
import {readLog, type EpochRecord} from '../../src/seld/train/training-log.js'
import type {TrainProgress} from '../../src/seld/train/train-progress.js'
import {trainingFingerprint} from '../../src/seld/train/fingerprint.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLASSES = 11
const AUDIO_CHANNELS = 4

/**
 * A tiny learnable SELD cell: one class at a time (or silence) in blocks of 8 frames, each class with its own spectral
 * pattern, its direction in the channel gains (magnitudes) and signs (phases), as first-order Ambisonics would show.
 * Writes raw features, normalizes them with the normalize stage's code, and writes targets frames × 4K.
 */
function writeCell(root: string, recordings: {train: number; test: number}, frames: number, bins = 16, seed = 5) {
  const random = new Random(seed)
  const patterns = Array.from({length: CLASSES}, () => Array.from({length: bins}, () => random.next() * 2))
  const raw = join(root, 'features')
  const labels = join(root, 'labels')
  const normalized = join(root, 'normalized')
  for (const dir of [raw, labels, normalized]) mkdirSync(dir, {recursive: true})
  const names = [
    ...Array.from({length: recordings.train}, (_, i) => `train_${i}`),
    ...Array.from({length: recordings.test}, (_, i) => `test_${i}`),
  ]
  for (const name of names) {
    const features = new Float32Array(frames * bins * 2 * AUDIO_CHANNELS)
    const targets = new Float32Array(frames * 4 * CLASSES)
    for (let block = 0; block * 8 < frames; block++) {
      const k = random.next() < 0.25 ? -1 : Math.floor(random.next() * CLASSES)
      const azimuth = (random.next() * 2 - 1) * Math.PI
      const elevation = (random.next() - 0.5) * 1.2
      const xyz = [Math.cos(azimuth) * Math.cos(elevation), Math.sin(azimuth) * Math.cos(elevation), Math.sin(elevation)]
      for (let f = block * 8; f < Math.min(frames, block * 8 + 8); f++) {
        for (let b = 0; b < bins; b++) {
          const at = (f * bins + b) * 2 * AUDIO_CHANNELS
          const level = k < 0 ? 0.05 : patterns[k][b]
          const gains = [1, ...xyz]
          for (let c = 0; c < AUDIO_CHANNELS; c++) {
            features[at + c] = level * Math.abs(gains[c]) + 0.05 * random.next()
            features[at + AUDIO_CHANNELS + c] = gains[c] < 0 ? Math.PI : 0
          }
        }
        if (k >= 0) {
          targets[f * 4 * CLASSES + k] = 1
          xyz.forEach((value, d) => (targets[f * 4 * CLASSES + (d + 1) * CLASSES + k] = value))
        }
      }
    }
    writeNpy(join(raw, `${name}.npy`), {shape: [frames, bins, 2 * AUDIO_CHANNELS], data: features})
    writeNpy(join(labels, `${name}.targets.npy`), {shape: [frames, 4 * CLASSES], data: targets})
  }
  normalizeDirectory(raw, normalized)
  return {features: normalized, labels}
}

const modelConfig: ModelConfig = {
  seqLen: 16, bins: 16, channels: 2 * AUDIO_CHANNELS, classes: CLASSES, convFilters: 8, poolSizes: [2, 2], rnnUnits: 16,
  fnnUnits: 16, dropout: 0, lossWeights: [1, 50], aziOnly: false, lr: 0.01,
}

let root: string
beforeAll(async () => {
  await initBackend('wasm', () => {})
  root = mkdtempSync(join(tmpdir(), 'seld-train-'))
})
afterAll(() => rmSync(root, {recursive: true, force: true}))

function run(cell: {features: string; labels: string}, out: string, overrides: Partial<TrainRun> = {}, settings: Partial<TrainRun['settings']> = {}): TrainRun {
  return {
    model: buildSeldnet(modelConfig),
    train: listRecordings(cell.features, cell.labels, 'train'),
    validation: listRecordings(cell.features, cell.labels, 'test'),
    scoredOn: 'test',
    settings: {seqLen: 16, batch: 4, epochs: 6, patience: 10, maxMinutes: 0, lrDecay: 1, quickTest: false, seed: 1, ...settings},
    scoring: {threshold: 0.5, framesPerSecond: 8, aziOnly: false},
    outDir: out,
    checkpointDir: `${out}.checkpoint`,
    fingerprint: 'tiny',
    backend: tf.getBackend(),
    device: 'CPU',
    ...overrides,
  }
}

describe('trainSeldnet', () => {
  it('trains on streamed sequences: the loss falls, every epoch is logged and scored, the best model is saved', async () => {
    const cell = writeCell(join(root, 'cell'), {train: 4, test: 2}, 96)
    const out = join(root, 'model')
    const lines: string[] = []
    const tensors: number[] = []
    const print = (line: string) => {
      lines.push(line)
      if (line.startsWith('epoch ')) tensors.push(tf.memory().numTensors)
    }
    const progress: TrainProgress[] = []
    const result = await trainSeldnet(run(cell, out, {print, progress: (update) => progress.push(update)}, {epochs: 10, patience: 10}))
    // Progress after every batch, when scoring starts and at the end of every epoch, with the epoch's own scores.
    const ends = progress.filter((update) => update.phase === 'epoch')
    expect(ends.map((update) => [update.epoch, update.epochs, update.loss, update.seldScore])).toEqual(result.records.map((r) => [r.epoch, 10, r.loss, r.seldScore]))
    expect(ends.map((update) => update.bestScore)).toEqual(result.records.map((_, i) => Math.min(...result.records.slice(0, i + 1).map((r) => r.seldScore))))
    expect(ends[9].etaSeconds).toBe(0)
    const firstEpoch = progress.filter((update) => update.epoch === 1).map((update) => update.phase === 'batch' ? `batch ${update.batch}/${update.batches}` : update.phase)
    expect(firstEpoch.at(-2)).toBe('scoring')
    expect(firstEpoch.filter((phase) => phase.startsWith('batch')).length).toBeGreaterThan(1)
    expect(firstEpoch.at(-3)).toMatch(/^batch (\d+)\/\1$/)
    // No tensors leak per epoch (the first epoch creates Adam's moments).
    expect(new Set(tensors.slice(1)).size).toBe(1)
    const losses = result.records.map((r) => r.loss)
    expect(result.records.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect((losses[8] + losses[9]) / 2).toBeLessThan(0.7 * losses[0])
    const log = readLog(join(out, 'log.jsonl'))
    expect(log).toEqual(JSON.parse(JSON.stringify(result.records)))
    for (const record of log) {
      expect(Object.keys(record).sort()).toEqual(['backend', 'device', 'doaErrorDegrees', 'doaLoss', 'epoch', 'er', 'f1', 'frameRecall', 'loss', 'scoredOn', 'sedLoss', 'seconds', 'seldScore'].sort())
      expect(record.backend).toBe('wasm')
      expect(record.device).toBe('CPU')
      expect(record.scoredOn).toBe('test')
      expect(record.seldScore).toBeGreaterThan(0)
    }
    expect(lines.filter((line) => line.startsWith('epoch '))).toHaveLength(10)
    const bestScore = Math.min(...log.map((r) => r.seldScore))
    expect(result.bestScore).toBe(bestScore)
    expect(log[result.bestEpoch - 1].seldScore).toBe(bestScore)
    const best = await loadModel(join(out, 'best'))
    expect(best.outputs.map((o) => o.shape)).toEqual([[null, 16, CLASSES], [null, 16, 3 * CLASSES]])
    // Training finished: the checkpoint is gone and nothing temporary is left.
    expect(existsSync(`${out}.checkpoint`)).toBe(false)
    expect(readdirSync(out).sort()).toEqual(['best', 'log.jsonl'])
  })

  it('trains the ACCDOA outputs alike: the loss falls, SED and DOA losses are null, the best model has the preset', async () => {
    const cell = writeCell(join(root, 'accdoa'), {train: 4, test: 2}, 96)
    for (const output of ['accdoa', 'multi_accdoa'] as const) {
      const out = join(root, `model-${output}`)
      const result = await trainSeldnet(run(cell, out, {model: buildSeldnet({...modelConfig, output}), scoredOn: 'validation'}, {epochs: 6, patience: 10, batch: 2}))
      const losses = result.records.map((r) => r.loss)
      // A mean square over every class's vector falls more slowly than the weighted BCE + MSE of seldnet on this cell
      // (how much varies with the unseeded initialisation); test/seld/outputs.test.ts checks the losses themselves.
      expect((losses[4] + losses[5]) / 2, output).toBeLessThan(losses[0])
      for (const record of readLog(join(out, 'log.jsonl'))) expect([record.scoredOn, record.sedLoss, record.doaLoss]).toEqual(['validation', null, null])
      expect(outputKindOf(await loadModel(join(out, 'best')))).toBe(output)
    }
  })

  it('stops early: after `patience` epochs without a better score, and before an epoch that would overrun the budget', async () => {
    const cell = writeCell(join(root, 'stops'), {train: 2, test: 1}, 48)
    // A test split without any reference activity has no error rate (NaN), so no epoch after the first one is better.
    const silent = join(cell.labels, 'test_0.targets.npy')
    writeNpy(silent, {shape: [48, 4 * CLASSES], data: new Float32Array(48 * 4 * CLASSES)})
    const lines: string[] = []
    const patient = await trainSeldnet(run(cell, join(root, 'stops-patience'), {print: (line) => lines.push(line)}, {epochs: 20, patience: 2}))
    expect(patient.records.map((r) => r.epoch)).toEqual([1, 2, 3])
    expect(patient.bestEpoch).toBe(1)
    expect(lines).toContain('stopped: no better SELD score for 2 epochs')

    lines.length = 0
    const budget = await trainSeldnet(run(cell, join(root, 'stops-budget'), {print: (line) => lines.push(line)}, {epochs: 20, maxMinutes: 1e-6}))
    expect(budget.records.map((r) => r.epoch)).toEqual([1])
    expect(lines).toContain('stopped: the next epoch would end past the 0.000001-minute budget')
  })

  it('decays the learning rate by lr_decay after every epoch', async () => {
    const cell = writeCell(join(root, 'decay'), {train: 2, test: 1}, 48)
    const model = buildSeldnet(modelConfig)
    await trainSeldnet(run(cell, join(root, 'decay-model'), {model}, {epochs: 3, lrDecay: 0.5}))
    expect((model.optimizer as unknown as {learningRate: number}).learningRate).toBeCloseTo(modelConfig.lr * 0.25, 12)
  })

  it('runs 2 epochs of 2 batches in quick-test mode, here with an azimuth-only model', async () => {
    const cell = writeCell(join(root, 'quick'), {train: 4, test: 2}, 96)
    const aziOnly = {model: buildSeldnet({...modelConfig, aziOnly: true}), scoring: {threshold: 0.5, framesPerSecond: 8, aziOnly: true}}
    const result = await trainSeldnet(run(cell, join(root, 'quick-model'), aziOnly, {quickTest: true, epochs: 40}))
    expect(result.records.map((r) => r.epoch)).toEqual([1, 2])
    for (const record of result.records) expect(record.doaErrorDegrees).toBeGreaterThan(0)
    const best = await loadModel(join(root, 'quick-model', 'best'))
    expect(best.outputs[1].shape).toEqual([null, 16, 2 * CLASSES])
  })

  it('fails, leaving no model, when the settings let no epoch train (epochs 0 or patience 0)', async () => {
    const cell = writeCell(join(root, 'none'), {train: 2, test: 1}, 32)
    for (const settings of [{epochs: 0}, {patience: 0}]) {
      const out = join(root, `none-${Object.keys(settings)[0]}`)
      await expect(trainSeldnet(run(cell, out, {}, settings))).rejects.toThrow(/no epoch was trained .*so there is no model/)
      expect(existsSync(join(out, 'best'))).toBe(false)
    }
  })

  it('does not resume a checkpoint after one annotation in the middle of a training file changed', async () => {
    // 1000 frames: targets of 176 kB, so frame 500 lies beyond the first and before the last 64 KiB.
    const cell = writeCell(join(root, 'edited'), {train: 2, test: 1}, 1000)
    const out = join(root, 'edited-model')
    const dataFiles = () => listRecordings(cell.features, cell.labels, 'train').flatMap((recording) => [recording.featuresFile, recording.targetsFile])
    const fingerprint = () => trainingFingerprint({epochs: 4}, dataFiles())
    const crash = (line: string) => {
      if (line.startsWith('epoch 2/')) throw new Error('killed')
    }
    await expect(trainSeldnet(run(cell, out, {print: crash, fingerprint: fingerprint()}, {epochs: 4}))).rejects.toThrow('killed')
    expect(existsSync(join(`${out}.checkpoint`, 'state.json'))).toBe(true)
    // One activity flipped in the middle of the file.
    const targetsFile = listRecordings(cell.features, cell.labels, 'train')[0].targetsFile
    const targets = readNpy(targetsFile)
    targets.data[500 * 4 * CLASSES] = 1 - targets.data[500 * 4 * CLASSES]
    writeNpy(targetsFile, targets)
    const lines: string[] = []
    const rerun = await trainSeldnet(run(cell, out, {print: (line) => lines.push(line), fingerprint: fingerprint()}, {epochs: 1}))
    expect(lines[0]).toMatch(/^ignoring the checkpoint in .*another configuration or data/)
    expect(rerun.resumedFrom).toBe(0)
  })

  it('continues after the last completed epoch when an interrupted run is restarted, and starts afresh for another configuration', async () => {
    const cell = writeCell(join(root, 'resume'), {train: 4, test: 2}, 96)
    const out = join(root, 'resume-model')
    // Simulated crash: the process dies while reporting epoch 3, after epoch 2's checkpoint was written.
    const crash = (line: string) => {
      if (line.startsWith('epoch 3/')) throw new Error('killed')
    }
    await expect(trainSeldnet(run(cell, out, {print: crash}, {epochs: 4}))).rejects.toThrow('killed')
    const before = JSON.parse(readFileSync(join(`${out}.checkpoint`, 'state.json'), 'utf8')) as {epoch: number; records: EpochRecord[]}
    expect(before.epoch).toBe(2)
    // The pipeline clears the stage's outputs before running it again.
    rmSync(out, {recursive: true})

    const lines: string[] = []
    const resumed = await trainSeldnet(run(cell, out, {print: (line) => lines.push(line)}, {epochs: 4}))
    expect(resumed.resumedFrom).toBe(2)
    expect(lines[0]).toMatch(/^resuming after epoch 2 /)
    expect(resumed.records.map((r) => r.epoch)).toEqual([1, 2, 3, 4])
    expect(resumed.records.slice(0, 2)).toEqual(before.records)
    expect(readLog(join(out, 'log.jsonl')).map((r) => r.epoch)).toEqual([1, 2, 3, 4])
    expect(existsSync(join(out, 'best', 'model.json'))).toBe(true)
    expect(existsSync(`${out}.checkpoint`)).toBe(false)

    // A checkpoint of another configuration is not continued.
    await expect(trainSeldnet(run(cell, out, {print: crash}, {epochs: 4}))).rejects.toThrow('killed')
    const other: string[] = []
    const fresh = await trainSeldnet(run(cell, out, {fingerprint: 'other', print: (line) => other.push(line)}, {epochs: 2}))
    expect(other[0]).toMatch(/another configuration/)
    expect(fresh.resumedFrom).toBe(0)
    expect(fresh.records.map((r) => r.epoch)).toEqual([1, 2])
  })
})

/** Runs a built stage script; resolves with its exit code and output. `onStdout` sees output as it comes. */
function runStage(script: string, args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<{code: number | null; signal: string | null; stdout: string; stderr: string}> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'stages', script), ...args], {cwd: root})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      onStdout?.(stdout, () => child.kill('SIGKILL'))
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code, signal) => done({code, signal, stdout, stderr}))
  })
}

describe('train and evaluate stages', () => {
  it('train exits non-zero, naming the problem, when it trained no model', async () => {
    const cell = writeCell(join(root, 'stage-none'), {train: 2, test: 1}, 64, 256)
    const out = join(root, 'stage-none', 'model')
    const result = await runStage('train.js', [
      '--dataset', 'synth-foa', '--nfft', '512', '--features', cell.features, '--labels', cell.labels, '--out', out,
      '--model-config', JSON.stringify({conv_filters: 4, pool_sizes: [16, 16], rnn_units: 4, fnn_units: 4, dropout: 0, loss_weights: [1, 50], azi_only: false}),
      '--train-config', JSON.stringify({seq_len: 32, batch: 8, lr: 0.005, epochs: 0, patience: 6, max_minutes: 0, lr_decay: 1, backend: 'wasm', quick_test: false, seed: 3}),
      '--threshold', '0.5',
    ])
    // params.schema.json refuses epochs 0 before anything is read (the pipeline refuses it at load time).
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('error: --train-config: train.epochs: must be >= 1\n')
    expect(result.stdout).not.toContain('best model')
    expect(existsSync(join(out, 'best', 'model.json'))).toBe(false)
  }, 60_000)

  it('resume after a kill, then evaluate writes metrics.json and the pictures', async () => {
    expect(existsSync(join(repoRoot, 'dist', 'stages', 'train.js')), 'build first: npx tsc -p .').toBe(true)
    // 400 frames at 172 frames per second (nfft 512 at 44.1 kHz, 256 bins): two 1-second metric segments per recording.
    const cell = writeCell(join(root, 'stage'), {train: 2, test: 1}, 400, 256)
    const out = join(root, 'stage', 'model')
    const trainArgs = [
      '--dataset', 'synth-foa', '--nfft', '512', '--features', cell.features, '--labels', cell.labels, '--out', out,
      '--model-config', JSON.stringify({conv_filters: 8, pool_sizes: [16, 16], rnn_units: 8, fnn_units: 8, dropout: 0, loss_weights: [1, 50], azi_only: false}),
      '--train-config', JSON.stringify({seq_len: 32, batch: 8, lr: 0.005, epochs: 6, patience: 6, max_minutes: 0, lr_decay: 1, backend: 'wasm', quick_test: false, seed: 3}),
      '--threshold', '0.5',
    ]
    // The sections are checked against params.schema.json before anything is read.
    const badSection = trainArgs.map((arg) => (arg.includes('"seq_len"') ? arg.replace('"batch":8', '"batch":"abc"') : arg))
    const refused = await runStage('train.js', badSection)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('error: --train-config: train.batch: must be integer\n')
    const refusedThreshold = await runStage('train.js', trainArgs.map((arg) => (arg === '0.5' ? '1.5' : arg)))
    expect(refusedThreshold.stderr).toBe('error: --threshold: evaluate.threshold: must be < 1\n')

    const killed = await runStage('train.js', trainArgs, (text, kill) => {
      if (/^epoch 2\/6/m.test(text)) kill()
    })
    expect(killed.stderr).not.toMatch(/error/)
    expect(killed.signal).toBe('SIGKILL')
    const state = JSON.parse(readFileSync(`${out}.checkpoint/state.json`, 'utf8')) as {epoch: number; records: EpochRecord[]}
    expect(state.epoch).toBeGreaterThanOrEqual(1)
    rmSync(out, {recursive: true, force: true})

    const resumed = await runStage('train.js', trainArgs)
    expect(resumed.stderr).not.toMatch(/error/)
    expect(resumed.code).toBe(0)
    expect(resumed.stdout).toContain(`resuming after epoch ${state.epoch} `)
    const log = readLog(join(out, 'log.jsonl'))
    expect(log.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6].slice(0, log.length))
    expect(log.length).toBeGreaterThan(state.epoch)
    expect(log.slice(0, state.epoch)).toEqual(state.records)
    expect(existsSync(`${out}.checkpoint`)).toBe(false)
    expect(readdirSync(out).sort()).toEqual(['best', 'log.jsonl', 'scaler.json', 'seld.json'])
    // Without train.validation the best epoch is chosen on a held-out part of the 2 training recordings.
    expect(log.every((record) => record.scoredOn === 'validation')).toBe(true)
    const info = JSON.parse(readFileSync(join(out, 'seld.json'), 'utf8'))
    expect(info).toMatchObject({featureKind: 'stft', output: 'seldnet', modelChosenOn: 'validation'})
    expect(info.validationRecordings).toHaveLength(1)
    expect(['train_0', 'train_1']).toContain(info.validationRecordings[0])
    expect(resumed.stdout).toContain(`the best epoch is chosen on 1 held-out training recording: ${info.validationRecordings[0]}`)
    // The backend and device of training: in seld.json, the log, and the progress line the run shows.
    expect(JSON.parse(readFileSync(join(out, 'seld.json'), 'utf8'))).toMatchObject({backend: 'wasm', device: 'CPU'})
    expect(log.map((r) => r.device)).toEqual(log.map(() => 'CPU'))
    expect(resumed.stdout).toMatch(/^::progress tfjs backend: wasm \(\d+ threads?\) on CPU$/m)

    const evalOut = join(root, 'stage', 'eval')
    const evaluated = await runStage('evaluate.js', ['--dataset', 'synth-foa', '--threshold', '0.5', '--model', out, '--features', cell.features, '--labels', cell.labels, '--out', evalOut, '--backend', 'wasm'])
    expect(evaluated.stderr).not.toMatch(/error/)
    expect(evaluated.code).toBe(0)
    expect(readdirSync(evalOut).sort()).toEqual(['metrics.json', 'test_0.png', 'training_curves.png'])
    const report = JSON.parse(readFileSync(join(evalOut, 'metrics.json'), 'utf8'))
    expect(report).toMatchObject({dataset: 'synth-foa', recordings: 1, frames: 400, threshold: 0.5, featureKind: 'stft', output: 'seldnet', modelChosenOn: 'validation'})
    expect(report.seld2018.seldScore).toBeGreaterThan(0)
    expect(report.joint.seldScore).toBeGreaterThan(0)
    expect(report.perRecording.map((r: {name: string}) => r.name)).toEqual(['test_0'])
    // With one test recording, the split's metrics are that recording's.
    expect(report.perRecording[0].seld2018).toEqual(report.seld2018)
    const png = readFileSync(join(evalOut, 'training_curves.png'))
    expect(png.readUInt32BE(16)).toBe(1200)
  }, 120_000)

  it('chooses on the test split with train.validation: test, trains an ACCDOA output, and refuses features of another kind', async () => {
    const cell = writeCell(join(root, 'published'), {train: 2, test: 1}, 400, 256)
    const out = join(root, 'published', 'model')
    const args = (model: object, train: object, features?: object) => [
      '--dataset', 'synth-foa', '--nfft', '512', '--features', cell.features, '--labels', cell.labels, '--out', out,
      '--model-config', JSON.stringify({conv_filters: 4, pool_sizes: [16, 16], rnn_units: 4, fnn_units: 4, dropout: 0, loss_weights: [1, 50], azi_only: false, ...model}),
      '--train-config', JSON.stringify({seq_len: 32, batch: 8, lr: 0.005, epochs: 2, patience: 2, max_minutes: 0, lr_decay: 1, backend: 'wasm', quick_test: true, seed: 3, ...train}),
      ...(features ? ['--feature-config', JSON.stringify(features)] : []),
      '--threshold', '0.5',
    ]
    const trained = await runStage('train.js', args({output: 'accdoa'}, {validation: 'test'}, {nfft: 512, kind: 'stft', mel_bands: 64}))
    expect(trained.stderr).toBe('')
    expect(trained.code).toBe(0)
    expect(trained.stdout).toContain('the best epoch is chosen on the test split, as the published code does (train.validation: test)')
    expect(readLog(join(out, 'log.jsonl')).map((record) => [record.scoredOn, record.sedLoss, record.doaLoss])).toEqual([['test', null, null], ['test', null, null]])
    const info = JSON.parse(readFileSync(join(out, 'seld.json'), 'utf8'))
    expect(info).toMatchObject({featureKind: 'stft', output: 'accdoa', modelChosenOn: 'test'})
    expect(info.validationRecordings).toBeUndefined()

    const evalOut = join(root, 'published', 'eval')
    const evaluated = await runStage('evaluate.js', ['--dataset', 'synth-foa', '--threshold', '0.5', '--model', out, '--features', cell.features, '--labels', cell.labels, '--out', evalOut, '--backend', 'wasm'])
    expect(evaluated.code).toBe(0)
    expect(JSON.parse(readFileSync(join(evalOut, 'metrics.json'), 'utf8'))).toMatchObject({output: 'accdoa', modelChosenOn: 'test'})

    rmSync(out, {recursive: true, force: true})
    const mismatched = await runStage('train.js', args({}, {}, {kind: 'logmel_iv', mel_bands: 64}))
    expect(mismatched.code).toBe(1)
    expect(mismatched.stderr).toContain(`${join(cell.features, 'train_0.npy')}: 256 bins × 8 channels, but logmel_iv features of synth-foa (nfft 512) have 64 × 7: were the features computed with another features.kind?`)
    const unknown = await runStage('train.js', args({output: 'dcase'}, {}))
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('--model-config: model.output: must be one of "seldnet", "accdoa", "multi_accdoa"')
  }, 120_000)

  it('train refuses features whose bins do not match --nfft, naming the file', async () => {
    const cell = writeCell(join(root, 'nfft'), {train: 1, test: 1}, 100, 256)
    const result = await runStage('train.js', [
      '--dataset', 'synth-foa', '--nfft', '1024', '--features', cell.features, '--labels', cell.labels, '--out', join(root, 'nfft', 'model'),
      '--model-config', JSON.stringify({conv_filters: 8, pool_sizes: [16, 16], rnn_units: 8, fnn_units: 8, dropout: 0, loss_weights: [1, 50], azi_only: false}),
      '--train-config', JSON.stringify({seq_len: 32, batch: 8, lr: 0.005, epochs: 1, patience: 1, max_minutes: 0, lr_decay: 1, backend: 'cpu', quick_test: true, seed: 3}),
      '--threshold', '0.5',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/train_0\.npy: 256 frequency bins, but --nfft 1024 gives 512/)
  })
})
