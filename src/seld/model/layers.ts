// Drop-in subclasses of tfjs layers (same config, weights and results, saved under their own class names) whose
// wasm path runs the kernels of ./kernels; on other backends they are the stock layers.
import * as tf from '@tensorflow/tfjs'
import {batchNormTraining} from './kernels/batchnorm.js'
import {conv2dBias} from './kernels/conv.js'
import {wasmTrainingKernelsActive} from './kernels/index.js'

// tfjs-layers exports factories, not classes: the classes come from its serialization registry.
type LayerClass = new (args: object) => tf.layers.Layer

export function stockLayerClass(className: string): LayerClass {
  return tf.serialization.SerializationMap.getMap().classNameMap[className][0] as unknown as LayerClass
}

/** Registers a layer class so that saved models holding it load again. */
export function registerLayer(layer: object): void {
  tf.serialization.registerClass(layer as tf.serialization.SerializableConstructor<tf.serialization.Serializable>)
}

const StockBatchNormalization = stockLayerClass('BatchNormalization')

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
    if (!kwargs.training || !wasmTrainingKernelsActive() || !lastAxis || !state.gamma || !state.beta) return super.call(inputs, kwargs)
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
registerLayer(SeldBatchNormalization)

const StockConv2D = stockLayerClass('Conv2D')

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
      wasmTrainingKernelsActive() &&
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
registerLayer(SeldConv2D)
