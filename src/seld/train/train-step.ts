import * as tf from '@tensorflow/tfjs'
import {ADPIT_SLOTS, accdoaTargets, adpitLoss, adpitTargets, outputKindOf, type OutputKind} from '../model/outputs.js'
import type {Batch} from './recordings.js'

/**
 * One optimizer step on a batch, with the loss of the model's output preset. Returns the losses the model reports:
 * [total, SED, DOA] for `seldnet` (SED and DOA with their weights), [total] for the ACCDOA presets.
 */
export async function trainStep(model: tf.LayersModel, batch: Batch, seqLen: number, bins: number, channels: number, kind: OutputKind = outputKindOf(model)): Promise<number[]> {
  const frames = batch.size * seqLen
  const classes = batch.sed.length / frames
  const x = tf.tensor4d(batch.x, [batch.size, seqLen, bins, channels])
  try {
    if (kind === 'seldnet') {
      const sed = tf.tensor3d(batch.sed, [batch.size, seqLen, classes])
      const doa = tf.tensor3d(batch.doa, [batch.size, seqLen, batch.doa.length / frames])
      const losses = await model.trainOnBatch(x, [sed, doa])
      tf.dispose([sed, doa])
      return Array.isArray(losses) ? losses : [losses]
    }
    if (kind === 'accdoa') {
      const target = tf.tensor3d(accdoaTargets(batch.sed, batch.doa, frames, classes), [batch.size, seqLen, 3 * classes])
      const loss = await model.trainOnBatch(x, target)
      target.dispose()
      return Array.isArray(loss) ? loss : [loss]
    }
    const target = tf.tensor3d(adpitTargets(batch.sed, batch.doa, frames, classes), [batch.size, seqLen, ADPIT_SLOTS * 4 * classes])
    const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable)
    const loss = model.optimizer.minimize(() => adpitLoss(target, model.apply(x, {training: true}) as tf.Tensor), true, variables)
    target.dispose()
    const value = (await loss!.data())[0]
    loss!.dispose()
    return [value]
  } finally {
    x.dispose()
  }
}

