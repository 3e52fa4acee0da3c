import type * as tf from '@tensorflow/tfjs'
import {loadModel} from './model-io.js'
// Registers the custom layers of SELDnet, which loading a saved model needs.
import './model.js'
import {SCALER_JSON, type Scaler} from '../features/scaler.js'
import {featureShape} from '../features/feature-kinds.js'
import {predictionWidths} from '../train/recordings.js'
import {predictFeatureSpec, PREDICT_INFO_FILE, readPredictInfo, resolveModelDir, type PredictInfo} from './model-folder.js'

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
  const {classes} = predictionWidths(model)
  const spec = predictFeatureSpec(info)
  const [expectedBins, expectedChannels] = featureShape(spec, info.channels)
  if (bins !== expectedBins || featureChannels !== expectedChannels || classes !== info.classes.length) {
    throw new Error(
      `${modelDir}: the network takes ${bins} bins × ${featureChannels} channels and gives ${classes} classes, but ` +
        `${PREDICT_INFO_FILE} describes ${spec.kind} features with nfft ${info.nfft} of ${info.channels} audio channels ` +
        `(${expectedBins} bins × ${expectedChannels} channels), ${info.classes.length} classes`,
    )
  }
  if (scaler.featureShape.join() !== [bins, featureChannels].join()) {
    throw new Error(`${modelDir}: the stored ${SCALER_JSON} scales features of shape (${scaler.featureShape.join(', ')}), the network takes (${bins}, ${featureChannels})`)
  }
  return {dir: modelDir, model, info, scaler}
}

