// GPU training-step benchmark: npm run bench:gpu [-- --steps 10 --warmup 3]. Installs nothing: it uses
// @tensorflow/tfjs-node-gpu where that loads and sees a GPU, and otherwise says so in one line and exits 0.
import {parseArgs} from 'node:util'
import * as tf from '@tensorflow/tfjs'
import {givenGpus, initBackend, type Backend} from '../src/seld/model/backend.js'
import {benchModel, timeSteps, type BenchShape} from './seldnet-shape.js'

const SHAPES: {name: string; metric: string; shape: BenchShape}[] = [
  {name: 'issue-6 shape: batch 8 × 64 frames × 256 bins × 8 feature channels, 64-unit GRUs', metric: 'gpu_train_step_ms_issue6', shape: {batch: 8, frames: 64, bins: 256, channels: 8, classes: 11, units: 64}},
  {
    name: 'published shape: batch 16 × 512 frames × 256 bins × 4 channels (8 feature channels), 128-unit GRUs',
    metric: 'gpu_train_step_ms_published',
    shape: {batch: 16, frames: 512, bins: 256, channels: 8, classes: 11, units: 128},
  },
]

const {values} = parseArgs({options: {steps: {type: 'string', default: '10'}, warmup: {type: 'string', default: '3'}}})
const count = (name: 'steps' | 'warmup', minimum: number) => {
  const value = Number(values[name])
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer ≥ ${minimum}, got ${values[name]}`)
  return value
}
const steps = count('steps', 1)
const warmup = count('warmup', 0)

/** The tensorflow backend on a GPU, or why there is none, in one line. */
async function gpuBackend(): Promise<Backend | string> {
  const visible = process.env.CUDA_VISIBLE_DEVICES
  if (givenGpus(process.env).length === 0) return visible === undefined ? 'the driver shows no GPU' : `CUDA_VISIBLE_DEVICES='${visible}' hides every GPU`
  try {
    const backend = await initBackend('tensorflow', () => {})
    return backend.device.startsWith('GPU') ? backend : `only ${backend.description} loaded (is @tensorflow/tfjs-node-gpu installed and built?)`
  } catch (error) {
    return (error as Error).message.replace(/\.$/, '')
  }
}

const backend = await gpuBackend()
if (typeof backend === 'string') {
  console.log(`bench:gpu: no GPU backend: ${backend}; nothing timed`)
  process.exit(0)
}
console.log(`backend: ${backend.description}`)
for (const {name, metric, shape} of SHAPES) {
  console.log(name)
  const setup = {...benchModel(shape), steps, warmup, backend: backend.description}
  await timeSteps(setup, metric, async () => {
    await setup.model.trainOnBatch(setup.inputs, setup.targets)
  })
  tf.dispose([setup.inputs, ...setup.targets])
  setup.model.dispose()
}
