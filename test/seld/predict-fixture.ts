// Shared by test/seld/predict.test.ts and test/commands/predict.test.ts: tiny saved models whose output is known.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {classNames, datasetSpec} from '../../src/seld/features/datasets.js'
import {buildSeldnet, DOA_OUTPUT, SED_OUTPUT} from '../../src/seld/model/model.js'
import {ACCDOA_OUTPUT, MULTI_ACCDOA_OUTPUT, type OutputKind} from '../../src/seld/model/outputs.js'
import {featureShape, featureSpec, type FeatureKind} from '../../src/seld/features/feature-kinds.js'
import {saveModel} from '../../src/seld/model/model-io.js'
import {writePredictInfo} from '../../src/seld/model/model-folder.js'
import {writeScaler} from '../../src/seld/features/scaler.js'
import {floatToPcm16, encodeWav, type Pcm16} from '../../src/seld/io/wav.js'

export const DATASET = datasetSpec('synth-foa')
export const CLASS_NAMES = classNames(DATASET)
/** A small FFT keeps the network tiny: 32 bins, hop 32 samples. */
export const NFFT = 64
export const SEQ_LEN = 16
export const FRAME_SECONDS = NFFT / 2 / DATASET.sampleRate

/** What the fixed network says in every frame: one class active with a constant activity and direction. */
export interface FixedOutput {
  classIndex: number
  activity: number
  azimuth: number
  elevation: number
}

/** The presets of a fixed model: the published ones when absent. */
export interface FixedPresets {
  output?: OutputKind
  featureKind?: FeatureKind
  /** Mel bands of the log-mel kinds: 8 suit the tiny FFT. */
  melBands?: number
}

/**
 * Saves, as the train stage would (`<trainOut>/best`, `<trainOut>/seld.json`, `<trainOut>/scaler.json`), a SELDnet
 * whose output layers ignore their input: zero kernels, and biases giving `output` in every frame (for multi-ACCDOA,
 * on tracks 0 and 1, track 2 silent). Everything before them (features, scaler, convolutions, GRUs, sequence
 * stitching, the conversion of ACCDOA vectors) still runs.
 */
export async function saveFixedModel(trainOut: string, output: FixedOutput, presets: FixedPresets = {}): Promise<void> {
  const spec = featureSpec(NFFT, presets.featureKind ?? 'stft', presets.melBands ?? 8)
  const [bins, channels] = featureShape(spec, DATASET.channels)
  const kind = presets.output ?? 'seldnet'
  const model = buildSeldnet({
    seqLen: SEQ_LEN, bins, channels, classes: CLASS_NAMES.length, convFilters: 2,
    poolSizes: [2, 2, 2], rnnUnits: 2, fnnUnits: 3, dropout: 0, lossWeights: [1, 50], aziOnly: false, lr: 0.001, output: kind,
  })
  const K = CLASS_NAMES.length
  const degrees = Math.PI / 180
  const [a, e] = [output.azimuth * degrees, output.elevation * degrees]
  const xyz = [Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e)]
  const biases: [string, Float32Array][] = []
  if (kind === 'seldnet') {
    const sedBias = new Float32Array(K).fill(-12)
    sedBias[output.classIndex] = Math.log(output.activity / (1 - output.activity))
    const doaBias = new Float32Array(3 * K)
    xyz.forEach((value, c) => (doaBias[c * K + output.classIndex] = Math.atanh(value)))
    biases.push([SED_OUTPUT, sedBias], [DOA_OUTPUT, doaBias])
  } else {
    const tracks = kind === 'accdoa' ? 1 : 3
    const bias = new Float32Array(tracks * 3 * K)
    for (const track of kind === 'accdoa' ? [0] : [0, 1]) {
      xyz.forEach((value, c) => (bias[(track * 3 + c) * K + output.classIndex] = Math.atanh(output.activity * value)))
    }
    biases.push([kind === 'accdoa' ? ACCDOA_OUTPUT : MULTI_ACCDOA_OUTPUT, bias])
  }
  for (const [name, bias] of biases) {
    const layer = model.getLayer(name)
    const [kernel] = layer.getWeights()
    layer.setWeights([tf.zerosLike(kernel), tf.tensor1d(bias)])
  }
  await saveModel(model, join(trainOut, 'best'))
  const scalerFile = join(trainOut, 'fitted-scaler.json')
  mkdirSync(trainOut, {recursive: true})
  writeScaler(scalerFile, {featureShape: [bins, channels], count: 1, mean: new Array(bins * channels).fill(0), scale: new Array(bins * channels).fill(1)})
  writePredictInfo(trainOut, DATASET, NFFT, scalerFile, {
    featureKind: spec.kind, ...(spec.kind === 'stft' ? {} : {melBands: spec.melBands}), output: kind,
  })
}

/** Frames the features of `samples` samples per channel have (the published count). */
export const framesOf = (samples: number) => Math.ceil((samples - NFFT) / (NFFT / 2))

/** Seeded noise of `samples` samples per channel. */
export function noise(samples: number, channels = DATASET.channels, sampleRate = DATASET.sampleRate): Pcm16 {
  let state = 12345
  const next = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32) * 0.2 - 0.1
  const data = Array.from({length: channels}, () => Float32Array.from({length: samples}, next))
  return floatToPcm16(data, sampleRate)
}

export function writeNoiseWav(file: string, samples: number, channels?: number, sampleRate?: number): void {
  writeFileSync(file, encodeWav(noise(samples, channels, sampleRate)))
}
