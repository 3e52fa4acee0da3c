// Population statistics for the BatchNormalization layers of a trained model ("precise BatchNorm").
import * as tf from '@tensorflow/tfjs'

function isBatchNorm(layer: tf.layers.Layer): boolean {
  return layer.getClassName().endsWith('BatchNormalization')
}

function variable(layer: tf.layers.Layer, name: 'moving_mean' | 'moving_variance'): tf.LayerVariable {
  const found = layer.weights.find((weight) => weight.originalName.endsWith(name))
  if (!found) throw new Error(`${layer.name} has no ${name} weight`)
  return found
}

/**
 * Sets the moving mean and variance of every BatchNormalization layer (normalizing the last axis) to the mean and
 * variance of its input over the batches `sample()` yields, computed in inference mode and layer after layer, so each
 * layer sees its input as normalized by the corrected layers before it. `sample` is called once per layer; it must
 * yield the same model inputs each time. Returns the number of layers set.
 *
 * Why: the moving averages of training-batch statistics are not what the network meets at inference. SELDnet's
 * batches (a few seconds of a few recordings) differ much in content, and the layers after the first learn inputs
 * normalized with each batch's own statistics; at inference, inputs normalized with averaged statistics drift from
 * those. Measured on the benchmark preset after 4 epochs: one batch's SED loss 0.009 in training mode but 0.30 in
 * inference mode, test F1 0.3 with the moving averages and 0.95 with recomputed statistics.
 */
export async function setPopulationStatistics(model: tf.LayersModel, sample: () => AsyncIterable<tf.Tensor>): Promise<number> {
  const layers = model.layers.filter(isBatchNorm)
  for (const layer of layers) {
    const axis = layer.getConfig().axis as number | number[]
    const rank = (layer.input as tf.SymbolicTensor).shape.length
    if (!(axis === -1 || axis === rank - 1)) throw new Error(`${layer.name}: only BatchNormalization over the last axis is supported, got axis ${axis}`)
    const upToLayer = tf.model({inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor})
    const channels = (layer.input as tf.SymbolicTensor).shape[rank - 1] as number
    const sum = new Float64Array(channels)
    const sumOfSquares = new Float64Array(channels)
    let rows = 0
    for await (const input of sample()) {
      const [mean, meanOfSquares, count] = tf.tidy(() => {
        const flat = tf.reshape(upToLayer.apply(input, {training: false}) as tf.Tensor, [-1, channels])
        return [tf.mean(flat, 0), tf.mean(tf.square(flat), 0), flat.shape[0]] as const
      })
      const [m, s] = [mean.dataSync(), meanOfSquares.dataSync()]
      for (let c = 0; c < channels; c++) {
        sum[c] += m[c] * count
        sumOfSquares[c] += s[c] * count
      }
      rows += count
      tf.dispose([mean, meanOfSquares, input])
    }
    if (rows === 0) throw new Error('no batches to compute the BatchNormalization statistics from')
    const mean = Float32Array.from(sum, (value) => value / rows)
    const variance = Float32Array.from(sumOfSquares, (value, c) => Math.max(0, value / rows - mean[c] * mean[c]))
    tf.tidy(() => {
      variable(layer, 'moving_mean').write(tf.tensor1d(mean))
      variable(layer, 'moving_variance').write(tf.tensor1d(variance))
    })
  }
  return layers.length
}
