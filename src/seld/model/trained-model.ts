import type * as tf from '@tensorflow/tfjs'
import {loadModel} from './model-io.js'
// Registers the custom layers of SELDnet, which loading a saved model needs.
import './model.js'
import {SCALER_JSON, type Scaler} from '../features/scaler.js'
import {PREDICT_INFO_FILE, readPredictInfo, resolveModelDir, type PredictInfo} from './model-folder.js'

/** A loaded model with everything needed to turn audio into its predictions. */
export interface Predictor {
  dir: string
  model: tf.LayersModel
  info: PredictInfo
  scaler: Scaler
}

/** Loads a model folder (see resolveModelDir) with its seld.json and scaler; a tfjs backend must be initialised. */
export async function loadPredictor(dir: string): Promise<Predictor> {
  const modelDir = resolveModelDir(dir)
  const {info, scaler} = readPredictInfo(modelDir)
  const model = await loadModel(modelDir)
  const [, , bins, featureChannels] = model.inputs[0].shape
  const classes = model.outputs[0].shape[2]
  if (bins !== info.nfft / 2 || featureChannels !== 2 * info.channels || classes !== info.classes.length) {
    throw new Error(
      `${modelDir}: the network takes ${bins} bins × ${featureChannels} channels and gives ${classes} classes, but ` +
        `${PREDICT_INFO_FILE} describes nfft ${info.nfft} (${info.nfft / 2} bins), ${info.channels} audio channels, ${info.classes.length} classes`,
    )
  }
  if (scaler.featureShape.join() !== [bins, featureChannels].join()) {
    throw new Error(`${modelDir}: the stored ${SCALER_JSON} scales features of shape (${scaler.featureShape.join(', ')}), the network takes (${bins}, ${featureChannels})`)
  }
  return {dir: modelDir, model, info, scaler}
}

