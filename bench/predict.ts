// Inference benchmark: npm run bench:predict -- --batch 8 --frames 64 --bins 256 --channels 8
import * as tf from '@tensorflow/tfjs'
import {setUpBench, timeSteps} from './seldnet-shape.js'

const setup = await setUpBench(10)
await timeSteps(setup, 'predict_step_ms', async () => {
  const outputs = setup.model.predict(setup.inputs) as tf.Tensor[]
  await Promise.all(outputs.map((output) => output.data()))
  tf.dispose(outputs)
})
