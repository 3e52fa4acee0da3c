import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {writeFileAtomically} from '../io/atomic-files.js'
import {readNpy, writeNpy, type NdArray} from '../io/npy.js'

/**
 * Per-feature standardisation fitted on training features: x ↦ (x − mean) / scale. A feature is one position of the
 * trailing `featureShape` (for SELDnet features, each bin × channel of magnitude and phase).
 */
export interface Scaler {
  featureShape: number[]
  /** Rows (frames) the statistics were computed over. */
  count: number
  mean: number[]
  /** Population standard deviation, or 1 where it is 0 (a constant feature is only centred), as scikit-learn does. */
  scale: number[]
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

/**
 * Mean and variance of every feature, updated one array at a time without keeping the data: each array's own mean
 * and sum of squared deviations (two passes in float64), merged by Chan et al.'s parallel update, which stays
 * accurate where the textbook sum-of-squares formula cancels.
 */
export class RunningMoments {
  count = 0
  readonly mean: Float64Array
  /** Sum of squared deviations from the mean. */
  readonly m2: Float64Array
  private readonly batchMean: Float64Array
  private readonly batchM2: Float64Array

  constructor(readonly featureShape: number[]) {
    const size = sizeOf(featureShape)
    this.mean = new Float64Array(size)
    this.m2 = new Float64Array(size)
    this.batchMean = new Float64Array(size)
    this.batchM2 = new Float64Array(size)
  }

  /** Adds the rows of `array` (shape rows × … × featureShape); `name` is used in errors. */
  add(array: NdArray, name: string): void {
    checkFeatureShape(array, this.featureShape, name)
    const size = this.mean.length
    const rows = array.data.length / size
    if (rows === 0) return
    const {data} = array
    const {batchMean, batchM2} = this
    batchMean.fill(0)
    batchM2.fill(0)
    for (let row = 0; row < rows; row++) {
      const base = row * size
      for (let i = 0; i < size; i++) batchMean[i] += data[base + i]
    }
    for (let i = 0; i < size; i++) batchMean[i] /= rows
    for (let row = 0; row < rows; row++) {
      const base = row * size
      for (let i = 0; i < size; i++) {
        const deviation = data[base + i] - batchMean[i]
        batchM2[i] += deviation * deviation
      }
    }
    const total = this.count + rows
    for (let i = 0; i < size; i++) {
      const delta = batchMean[i] - this.mean[i]
      this.mean[i] += (delta * rows) / total
      this.m2[i] += batchM2[i] + (delta * delta * this.count * rows) / total
    }
    this.count = total
  }

  scaler(): Scaler {
    const scale = Array.from(this.m2, (m2) => {
      const std = Math.sqrt(m2 / this.count)
      return std > 0 ? std : 1
    })
    return {featureShape: [...this.featureShape], count: this.count, mean: Array.from(this.mean), scale}
  }
}

function checkFeatureShape(array: NdArray, featureShape: number[], name: string): void {
  const trailing = array.shape.slice(array.shape.length - featureShape.length)
  if (array.shape.length <= featureShape.length || trailing.join() !== featureShape.join()) {
    throw new Error(`${name}: shape (${array.shape.join(', ')}) does not end in the scaler's feature shape (${featureShape.join(', ')})`)
  }
}

/** Standardises `array` in place; its shape must end in the scaler's feature shape. `name` is used in errors. */
export function applyScaler(scaler: Scaler, array: NdArray, name = 'features'): void {
  checkFeatureShape(array, scaler.featureShape, name)
  const size = scaler.mean.length
  const {data} = array
  const mean = Float64Array.from(scaler.mean)
  const inverse = Float64Array.from(scaler.scale, (scale) => 1 / scale)
  for (let base = 0; base < data.length; base += size) {
    for (let i = 0; i < size; i++) data[base + i] = (data[base + i] - mean[i]) * inverse[i]
  }
}

/** Fits a scaler on .npy feature files, reading one at a time. */
export function fitScaler(files: string[]): Scaler {
  let moments: RunningMoments | undefined
  for (const file of files) {
    const array = readNpy(file)
    moments ??= new RunningMoments(array.shape.slice(1))
    moments.add(array, file)
  }
  if (!moments || moments.count === 0) throw new Error(`no feature rows to fit a scaler on (${files.length} files)`)
  return moments.scaler()
}

export function writeScaler(file: string, scaler: Scaler): void {
  writeFileAtomically(file, JSON.stringify(scaler))
}

/** Reads a scaler written by writeScaler, refusing one that is incomplete or inconsistent. */
export function readScaler(file: string): Scaler {
  let parsed: Partial<Scaler>
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Scaler>
  } catch (error) {
    throw new Error(`${file}: not a readable scaler (${(error as Error).message})`)
  }
  const {featureShape, count, mean, scale} = parsed
  const numbers = (value: unknown): value is number[] => Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v))
  if (!numbers(featureShape) || !numbers(mean) || !numbers(scale) || typeof count !== 'number') {
    throw new Error(`${file}: not a scaler (featureShape, count, mean and scale expected)`)
  }
  const size = sizeOf(featureShape)
  if (mean.length !== size || scale.length !== size) throw new Error(`${file}: mean and scale must hold ${size} values for feature shape (${featureShape.join(', ')})`)
  if (scale.some((s) => s <= 0)) throw new Error(`${file}: scale values must be positive`)
  return {featureShape, count, mean, scale}
}

export const SCALER_JSON = 'scaler.json'

/**
 * Fits a scaler on the train_*.npy files of `featuresDir` and writes standardised copies of every .npy file there
 * (train and test) to `outDir`, with the scaler as scaler.json. Returns the names of the files written.
 */
export function normalizeDirectory(featuresDir: string, outDir: string): {train: string[]; all: string[]; scaler: Scaler} {
  const all = readdirSync(featuresDir).filter((file) => file.endsWith('.npy')).sort()
  const train = all.filter((file) => file.startsWith('train'))
  if (train.length === 0) throw new Error(`${featuresDir}: no train*.npy feature files to fit the scaler on`)
  const scaler = fitScaler(train.map((file) => path.join(featuresDir, file)))
  for (const file of all) {
    const source = path.join(featuresDir, file)
    const array = readNpy(source)
    applyScaler(scaler, array, source)
    writeNpy(path.join(outDir, file), array)
  }
  writeScaler(path.join(outDir, SCALER_JSON), scaler)
  return {train, all, scaler}
}
