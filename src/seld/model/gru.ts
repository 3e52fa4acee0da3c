// A drop-in for tf.layers.gru (same config, weights and results) whose training and inference on the wasm backend
// compute the input projections of all time steps in one matmul and run the recurrence in the fused kernels of
// ./kernels/gru; configurations those kernels do not cover, and other backends, take the stock path.
import * as tf from '@tensorflow/tfjs'
import {gruRecurrence, type GateActivation} from './kernels/gru.js'
import {wasmTrainingKernelsActive} from './kernels/index.js'
import {registerLayer, stockLayerClass} from './layers.js'

type GRULayerArgs = Parameters<typeof tf.layers.gru>[0]

const StockGRU = stockLayerClass('GRU') as unknown as new (args: GRULayerArgs) => tf.layers.Layer

interface GruState {
  goBackwards: boolean
  returnSequences: boolean
  returnState: boolean
  stateful: boolean
  cell: {
    units: number
    dropout: number
    recurrentDropout: number
    useBias: boolean
    activation: {getClassName(): string}
    recurrentActivation: {getClassName(): string}
    kernel: tf.LayerVariable
    recurrentKernel: tf.LayerVariable
    bias: tf.LayerVariable | null
  }
}

const GATES: Record<string, GateActivation> = {hardSigmoid: 'hardSigmoid', sigmoid: 'sigmoid'}

export class SeldGRU extends StockGRU {
  static readonly className = 'SeldGRU'

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as GruState
    const cell = state.cell
    const gate = GATES[cell.recurrentActivation.getClassName()]
    const fused =
      wasmTrainingKernelsActive() &&
      !Array.isArray(inputs) &&
      kwargs?.mask == null &&
      kwargs?.initialState == null &&
      !state.stateful &&
      !state.returnState &&
      cell.dropout === 0 &&
      cell.recurrentDropout === 0 &&
      cell.activation.getClassName() === 'tanh' &&
      gate !== undefined
    if (!fused) return super.call(inputs, kwargs)
    return tf.tidy(() => {
      const x = inputs as tf.Tensor3D
      const [batch, steps, features] = x.shape
      const units = cell.units
      let projections = tf.matMul(tf.reshape(x, [batch * steps, features]), cell.kernel.read() as tf.Tensor2D)
      if (cell.useBias && cell.bias) projections = tf.add(projections, cell.bias.read())
      const states = gruRecurrence(tf.reshape(projections, [batch, steps, 3 * units]), cell.recurrentKernel.read() as tf.Tensor2D, state.goBackwards, gate)
      return state.returnSequences ? states : tf.reshape(tf.slice(states, [0, steps - 1, 0], [batch, 1, units]), [batch, units])
    })
  }
}
registerLayer(SeldGRU)

/** tf.layers.gru with the fast wasm path. */
export function seldGru(args: GRULayerArgs): tf.layers.Layer {
  return new SeldGRU(args)
}
