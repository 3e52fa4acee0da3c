// Shared by bench/train.ts and bench/predict.ts: the issue-6 benchmark model and its command line.
import {parseArgs} from 'node:util'
import * as tf from '@tensorflow/tfjs'
import {initBackend, type BackendPreference} from '../src/seld/model/backend.js'
import {buildSeldnet, doaSize, type ModelConfig} from '../src/seld/model/model.js'

export interface BenchSetup {
  model: tf.LayersModel
  inputs: tf.Tensor
  targets: [tf.Tensor, tf.Tensor]
  steps: number
  warmup: number
  backend: string
}

/** Parses --batch --frames --bins --channels --classes --steps --warmup --backend and builds the published shape. */
export async function setUpBench(defaultSteps: number): Promise<BenchSetup> {
  const {values} = parseArgs({
    options: {
      batch: {type: 'string', default: '8'},
      frames: {type: 'string', default: '64'},
      bins: {type: 'string', default: '256'},
      channels: {type: 'string', default: '8'},
      classes: {type: 'string', default: '11'},
      steps: {type: 'string', default: String(defaultSteps)},
      warmup: {type: 'string', default: '3'},
      backend: {type: 'string', default: 'auto'},
    },
  })
  const number = (name: keyof typeof values) => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got ${values[name]}`)
    return value
  }
  const backend = (await initBackend(values.backend as BackendPreference)).description
  const shape = {batch: number('batch'), frames: number('frames'), bins: number('bins'), channels: number('channels'), classes: number('classes'), units: 64}
  return {...benchModel(shape), steps: Math.max(number('steps'), 1), warmup: number('warmup'), backend}
}

/** A batch shape and the width of the GRU and Dense layers. */
export interface BenchShape {
  batch: number
  frames: number
  bins: number
  /** Feature channels: magnitude and phase of each audio channel. */
  channels: number
  classes: number
  units: number
}

/** SELDnet (64 filters, pools 8, 8, 2, two GRUs) at `shape`, with random inputs and targets. */
export function benchModel(shape: BenchShape): Pick<BenchSetup, 'model' | 'inputs' | 'targets'> {
  const config: ModelConfig = {
    seqLen: shape.frames,
    bins: shape.bins,
    channels: shape.channels,
    classes: shape.classes,
    convFilters: 64,
    poolSizes: [8, 8, 2],
    rnnUnits: [shape.units, shape.units],
    fnnUnits: [shape.units],
    dropout: 0,
    lossWeights: [1, 50],
    aziOnly: false,
    lr: 1e-3,
  }
  const model = buildSeldnet(config)
  const inputs = tf.randomNormal([shape.batch, config.seqLen, config.bins, config.channels])
  const sed = tf.cast(tf.greater(tf.randomUniform([shape.batch, config.seqLen, config.classes]), 0.8), 'float32')
  const doa = tf.randomUniform([shape.batch, config.seqLen, doaSize(config)], -1, 1)
  return {model, inputs, targets: [sed, doa]}
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Times `step` warmup + steps times and prints each step, the median, and `<metric>=<median>` as the last line. */
export async function timeSteps(setup: BenchSetup, metric: string, step: () => Promise<void>): Promise<void> {
  for (let i = 0; i < setup.warmup; i++) await step()
  const times: number[] = []
  // CPU time of this process as well: on a shared machine it shows the cost without other processes' load.
  const cpuTimes: number[] = []
  for (let i = 0; i < setup.steps; i++) {
    const start = performance.now()
    const cpuStart = process.cpuUsage()
    await step()
    times.push(performance.now() - start)
    const cpu = process.cpuUsage(cpuStart)
    cpuTimes.push((cpu.user + cpu.system) / 1000)
    console.log(`step ${i + 1}: ${times[i].toFixed(1)} ms (cpu ${cpuTimes[i].toFixed(1)} ms)`)
  }
  console.log(
    `backend=${setup.backend} steps=${times.length} best=${Math.min(...times).toFixed(1)} ms median=${median(times).toFixed(1)} ms ` +
      `cpu median=${median(cpuTimes).toFixed(1)} ms`,
  )
  console.log(`${metric}=${median(times).toFixed(1)}`)
}
