// The SELDnet CRNN (Adavanne et al. 2018) in tfjs-layers, every size taken from the configuration.
import * as tf from '@tensorflow/tfjs'
import {seldGru} from './gru.js'
import {SeldBatchNormalization, SeldConv2D} from './layers.js'
import {ACCDOA_OUTPUT, accdoaLoss, DOA_OUTPUT, isOutputKind, MULTI_ACCDOA_OUTPUT, OUTPUT_KINDS, SED_OUTPUT, TRACKS, type OutputKind} from './outputs.js'

export {DOA_OUTPUT, SED_OUTPUT}

export interface ModelConfig {
  /** Frames per input sequence. */
  seqLen: number
  /** Frequency bins per frame. */
  bins: number
  /** Input channels: 2C for the published features (magnitude and phase of C channels); see feature-kinds.ts for the others. */
  channels: number
  /** Sound event classes K. */
  classes: number
  /** Filters of every convolution block. */
  convFilters: number
  /** Max-pooling factor along frequency of each convolution block (one block per entry). */
  poolSizes: number[]
  /** Units of each bidirectional GRU layer; a single number means the published two layers of that size. */
  rnnUnits: number | number[]
  /** Units of each per-frame Dense layer before the outputs; a single number means one layer. */
  fnnUnits: number | number[]
  /** Dropout rate after every convolution block and Dense layer (0 disables it). */
  dropout: number
  /** The output preset (see outputs.ts); `seldnet`, the published one, when absent. */
  output?: OutputKind
  /** Weights of the SED (binary cross-entropy) and DOA (mean squared error) losses of the `seldnet` output. */
  lossWeights: [number, number]
  /** DOA output as (x, y) per class instead of (x, y, z). */
  aziOnly: boolean
  /** Adam learning rate. */
  lr: number
}

function layerSizes(value: number | number[], single: number): number[] {
  return Array.isArray(value) ? value : Array.from({length: single}, () => value)
}

function checkConfig(config: ModelConfig): void {
  const positive: (keyof ModelConfig)[] = ['seqLen', 'bins', 'channels', 'classes', 'convFilters', 'lr']
  for (const key of positive) {
    const value = config[key]
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`model config: ${key} must be a positive number, got ${value}`)
  }
  const sizes = [...config.poolSizes, ...layerSizes(config.rnnUnits, 2), ...layerSizes(config.fnnUnits, 1)]
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new Error(`model config: poolSizes, rnnUnits and fnnUnits must be positive integers, got ${sizes}`)
  }
  const pooling = config.poolSizes.reduce((a, b) => a * b, 1)
  if (config.bins % pooling !== 0) {
    throw new Error(`model config: bins (${config.bins}) must be divisible by the product of poolSizes (${pooling})`)
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) throw new Error(`model config: dropout must be in [0, 1), got ${config.dropout}`)
  const output = config.output ?? 'seldnet'
  if (!isOutputKind(output)) throw new Error(`model config: output must be one of ${OUTPUT_KINDS.join(', ')}, got '${output}'`)
  // An azimuth-only ACCDOA vector (x, y) would be shorter than the activity for every elevated source.
  if (output !== 'seldnet' && config.aziOnly) throw new Error(`model config: the ${output} output needs x, y and z: set azi_only to false`)
}

/** DOA output size: 2K (azimuth only) or 3K (x, y, z per class). */
export function doaSize(config: Pick<ModelConfig, 'classes' | 'aziOnly'>): number {
  return (config.aziOnly ? 2 : 3) * config.classes
}

/**
 * Compiles (or recompiles, e.g. after loading) a SELDnet with Adam and its output's loss: for `seldnet` the weighted
 * BCE + MSE, for `accdoa` the MSE of the vectors. A `multi_accdoa` model is trained by trainStep with ADPIT, whose
 * target has another shape than the output (which trainOnBatch refuses); it is compiled for its optimizer only.
 */
export function compileSeldnet(model: tf.LayersModel, config: Pick<ModelConfig, 'lossWeights' | 'lr' | 'output'>): void {
  const optimizer = tf.train.adam(config.lr)
  if ((config.output ?? 'seldnet') !== 'seldnet') {
    model.compile({optimizer, loss: accdoaLoss})
    return
  }
  const [sedWeight, doaWeight] = config.lossWeights
  // tfjs-layers ignores compile's lossWeights, so the weights are part of the loss functions.
  const sedLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.mul(sedWeight, tf.mean(tf.metrics.binaryCrossentropy(yTrue, yPred)))
  const doaLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.mul(doaWeight, tf.mean(tf.squaredDifference(yTrue, yPred)))
  model.compile({optimizer, loss: [sedLoss, doaLoss]})
}

/**
 * Builds and compiles the CRNN: input [batch, seqLen, bins, channels]; per block Conv2D 3×3 same, BatchNorm, ReLU,
 * MaxPool (1, p), Dropout; reshape to [seqLen, features]; bidirectional GRUs merged by multiplication; per-frame
 * Dense layers, then the output preset's layers: SED Dense(K, sigmoid) and DOA Dense(2K or 3K, tanh) for `seldnet`
 * (outputs [sed, doa]), Dense(3K, tanh) for `accdoa`, Dense(3 · 3K, tanh) for `multi_accdoa`.
 */
export function buildSeldnet(config: ModelConfig): tf.LayersModel {
  checkConfig(config)
  const input = tf.input({shape: [config.seqLen, config.bins, config.channels], name: 'spec_in'})
  let x: tf.SymbolicTensor = input
  for (const pool of config.poolSizes) {
    x = new SeldConv2D({filters: config.convFilters, kernelSize: 3, padding: 'same'}).apply(x) as tf.SymbolicTensor
    x = new SeldBatchNormalization({axis: -1}).apply(x) as tf.SymbolicTensor
    x = tf.layers.activation({activation: 'relu'}).apply(x) as tf.SymbolicTensor
    x = tf.layers.maxPooling2d({poolSize: [1, pool], strides: [1, pool]}).apply(x) as tf.SymbolicTensor
    if (config.dropout > 0) x = tf.layers.dropout({rate: config.dropout}).apply(x) as tf.SymbolicTensor
  }
  const pooledBins = config.bins / config.poolSizes.reduce((a, b) => a * b, 1)
  x = tf.layers.reshape({targetShape: [config.seqLen, pooledBins * config.convFilters]}).apply(x) as tf.SymbolicTensor
  for (const units of layerSizes(config.rnnUnits, 2)) {
    const gru = seldGru({units, activation: 'tanh', returnSequences: true}) as unknown as tf.RNN
    x = tf.layers.bidirectional({layer: gru, mergeMode: 'mul'}).apply(x) as tf.SymbolicTensor
  }
  const head = (size: number, activation: 'sigmoid' | 'tanh', name: string) => {
    let y = x
    for (const units of layerSizes(config.fnnUnits, 1)) {
      // Dense on a 3-D input is applied per frame in one matmul (TimeDistributed would loop over frames).
      y = tf.layers.dense({units}).apply(y) as tf.SymbolicTensor
      if (config.dropout > 0) y = tf.layers.dropout({rate: config.dropout}).apply(y) as tf.SymbolicTensor
    }
    return tf.layers.dense({units: size, activation, name}).apply(y) as tf.SymbolicTensor
  }
  const output = config.output ?? 'seldnet'
  const outputs =
    output === 'seldnet' ? [head(config.classes, 'sigmoid', SED_OUTPUT), head(doaSize(config), 'tanh', DOA_OUTPUT)]
    : output === 'accdoa' ? [head(3 * config.classes, 'tanh', ACCDOA_OUTPUT)]
    : [head(TRACKS * 3 * config.classes, 'tanh', MULTI_ACCDOA_OUTPUT)]
  const model = tf.model({inputs: input, outputs, name: 'seldnet'})
  compileSeldnet(model, config)
  return model
}
