// Training-step benchmark of issue 6: npm run bench:train -- --batch 8 --frames 64 --bins 256 --channels 8
import * as tf from '@tensorflow/tfjs'
import {setUpBench, timeSteps} from './seldnet-shape.js'

const setup = await setUpBench(10)
await timeSteps(setup, 'train_step_ms', async () => {
  await setup.model.trainOnBatch(setup.inputs, setup.targets)
})
tf.disposeVariables()
