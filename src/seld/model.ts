// The SELDnet CRNN (Adavanne et al. 2018) in tfjs-layers, every size taken from the configuration.
import * as tf from '@tensorflow/tfjs'
import {seldGru} from './gru.js'
import {batchNormTraining} from './kernels/batchnorm.js'
import {conv2dBias} from './kernels/conv.js'

export interface ModelConfig {
  /** Frames per input sequence. */
  seqLen: number
  /** Frequency bins per frame. */
  bins: number
  /** Input channels: 2C (magnitude and phase of C microphone / Ambisonic channels). */
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
  /** Weights of the SED (binary cross-entropy) and DOA (mean squared error) losses. */
  lossWeights: [number, number]
  /** DOA output as (x, y) per class instead of (x, y, z). */
  aziOnly: boolean
  /** Adam learning rate. */
  lr: number
}

type LayerClass = new (args: object) => tf.layers.Layer
const StockBatchNormalization = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'][0] as unknown as LayerClass

interface BatchNormState {
  axis: number
  epsilon: number
  momentum: number
  gamma?: tf.LayerVariable
  beta?: tf.LayerVariable
  movingMean: tf.LayerVariable
  movingVariance: tf.LayerVariable
}

/**
 * BatchNormalization (same weights, config and results) whose training step on the wasm backend runs the fused
 * kernels of ./kernels/batchnorm; elsewhere, and for inference, it is the stock layer.
 */
export class SeldBatchNormalization extends StockBatchNormalization {
  static readonly className = 'SeldBatchNormalization'

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: {training?: boolean}): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as BatchNormState
    const input = Array.isArray(inputs) ? inputs[0] : inputs
    const lastAxis = state.axis === -1 || state.axis === input.rank - 1
    if (!kwargs.training || tf.getBackend() !== 'wasm' || !lastAxis || !state.gamma || !state.beta) return super.call(inputs, kwargs)
    return tf.tidy(() => {
      const {y, mean, variance} = batchNormTraining(input, state.gamma!.read() as tf.Tensor1D, state.beta!.read() as tf.Tensor1D, state.epsilon)
      for (const [variable, value] of [[state.movingMean, mean], [state.movingVariance, variance]] as const) {
        const current = variable.read()
        variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - state.momentum)))
      }
      tf.dispose([mean, variance])
      return y
    })
  }
}
tf.serialization.registerClass(SeldBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>)

const StockConv2D = tf.serialization.SerializationMap.getMap().classNameMap['Conv2D'][0] as unknown as LayerClass

interface Conv2DState {
  rank: number
  strides: [number, number]
  padding: string
  dataFormat: string
  dilationRate: number[]
  activation: {getClassName(): string}
  kernel: tf.LayerVariable
  bias?: tf.LayerVariable | null
}

/**
 * Conv2D (same weights, config and results) whose wasm path registers its gradient per input, so the unused
 * gradient with respect to the model input is never computed (tf.fused.conv2d's gradient computes all of them).
 */
export class SeldConv2D extends StockConv2D {
  static readonly className = 'SeldConv2D'

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as Conv2DState
    const input = Array.isArray(inputs) ? inputs[0] : inputs
    const covered =
      tf.getBackend() === 'wasm' &&
      state.rank === 2 &&
      input.rank === 4 &&
      state.dataFormat === 'channelsLast' &&
      (state.padding === 'same' || state.padding === 'valid') &&
      state.dilationRate.every((d) => d === 1) &&
      state.activation.getClassName() === 'linear' &&
      state.bias != null
    if (!covered) return super.call(inputs, kwargs)
    return tf.tidy(() =>
      conv2dBias(input as tf.Tensor4D, state.kernel.read() as tf.Tensor4D, state.bias!.read() as tf.Tensor1D, state.strides, state.padding as 'same' | 'valid'),
    )
  }
}
tf.serialization.registerClass(SeldConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>)

export const SED_OUTPUT = 'sed_out'
export const DOA_OUTPUT = 'doa_out'

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
}

/** DOA output size: 2K (azimuth only) or 3K (x, y, z per class). */
export function doaSize(config: Pick<ModelConfig, 'classes' | 'aziOnly'>): number {
  return (config.aziOnly ? 2 : 3) * config.classes
}

/** Compiles (or recompiles, e.g. after loading) a SELDnet with Adam and the weighted BCE + MSE losses. */
export function compileSeldnet(model: tf.LayersModel, config: Pick<ModelConfig, 'lossWeights' | 'lr'>): void {
  const [sedWeight, doaWeight] = config.lossWeights
  // tfjs-layers ignores compile's lossWeights, so the weights are part of the loss functions.
  const sedLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.mul(sedWeight, tf.mean(tf.metrics.binaryCrossentropy(yTrue, yPred)))
  const doaLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.mul(doaWeight, tf.mean(tf.squaredDifference(yTrue, yPred)))
  model.compile({optimizer: tf.train.adam(config.lr), loss: [sedLoss, doaLoss]})
}

/**
 * Builds and compiles the CRNN: input [batch, seqLen, bins, channels]; per block Conv2D 3×3 same, BatchNorm, ReLU,
 * MaxPool (1, p), Dropout; reshape to [seqLen, features]; bidirectional GRUs merged by multiplication; per-frame
 * Dense layers, then SED Dense(K, sigmoid) and DOA Dense(2K or 3K, tanh). Outputs [sed, doa].
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
  const sed = head(config.classes, 'sigmoid', SED_OUTPUT)
  const doa = head(doaSize(config), 'tanh', DOA_OUTPUT)
  const model = tf.model({inputs: input, outputs: [sed, doa], name: 'seldnet'})
  compileSeldnet(model, config)
  return model
}
