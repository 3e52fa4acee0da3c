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
  const batch = number('batch')
  const config: ModelConfig = {
    seqLen: number('frames'),
    bins: number('bins'),
    channels: number('channels'),
    classes: number('classes'),
    convFilters: 64,
    poolSizes: [8, 8, 2],
    rnnUnits: [64, 64],
    fnnUnits: [64],
    dropout: 0,
    lossWeights: [1, 50],
    aziOnly: false,
    lr: 1e-3,
  }
  const model = buildSeldnet(config)
  const inputs = tf.randomNormal([batch, config.seqLen, config.bins, config.channels])
  const sed = tf.cast(tf.greater(tf.randomUniform([batch, config.seqLen, config.classes]), 0.8), 'float32')
  const doa = tf.randomUniform([batch, config.seqLen, doaSize(config)], -1, 1)
  return {model, inputs, targets: [sed, doa], steps: Math.max(number('steps'), 1), warmup: number('warmup'), backend}
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
