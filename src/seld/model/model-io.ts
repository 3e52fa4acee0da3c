import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {buildDirectoryAtomically} from '../io/atomic-files.js'

/** A tensor with its name, as optimizers' getWeights returns them. */
type NamedTensor = {name: string; tensor: tf.Tensor}

// The same layout tfjs-node's `file://` handler uses, so tfjs-node (and the tfjs converter) can read these folders.
const MODEL_JSON = 'model.json'
const WEIGHTS_BIN = 'weights.bin'

/**
 * A tf.io handler that saves to and loads from a folder holding model.json and weights.bin, with plain node:fs (the
 * `file://` scheme needs tfjs-node, which is optional here). It writes into `dir` as is: use saveModel for an
 * atomic replacement of a folder.
 */
export function folderHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('binary model topologies are not supported')
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData)
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? []}],
        ...(artifacts.trainingConfig ? {trainingConfig: artifacts.trainingConfig} : {}),
        ...(artifacts.userDefinedMetadata ? {userDefinedMetadata: artifacts.userDefinedMetadata} : {}),
      }
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, WEIGHTS_BIN), new Uint8Array(weightData))
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(modelJson))
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(modelJson)}
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJson = readModelJson(dir)
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => readWeights(dir, manifest))
    },
  }
}

function readModelJson(dir: string): tf.io.ModelJSON {
  const file = join(dir, MODEL_JSON)
  if (!existsSync(file)) throw new Error(`${dir}: no ${MODEL_JSON} (not a saved model folder)`)
  let parsed: tf.io.ModelJSON
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as tf.io.ModelJSON
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`)
  }
  if (parsed.modelTopology == null || !Array.isArray(parsed.weightsManifest)) {
    throw new Error(`${file}: not a tfjs layers model (modelTopology or weightsManifest missing)`)
  }
  return parsed
}

/** Reads and concatenates the weight files a manifest names, checking their total size against the specs. */
function readWeights(dir: string, manifest: tf.io.WeightsManifestConfig): [tf.io.WeightsManifestEntry[], ArrayBuffer] {
  const specs = manifest.flatMap((group) => group.weights)
  const parts = manifest.flatMap((group) => group.paths).map((path) => {
    const file = join(dir, path)
    if (!existsSync(file)) throw new Error(`${dir}: weight file ${path} named in ${MODEL_JSON} is missing`)
    const bytes = readFileSync(file)
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  })
  const data = tf.io.CompositeArrayBuffer.join(parts)
  const expected = specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * bytesPerValue(spec.dtype), 0)
  if (data.byteLength !== expected) throw new Error(`${dir}: weights hold ${data.byteLength} bytes, ${MODEL_JSON} describes ${expected}`)
  return [specs, data]
}

function bytesPerValue(dtype: string): number {
  if (dtype === 'float32' || dtype === 'int32') return 4
  if (dtype === 'bool') return 1
  throw new Error(`weights of dtype ${dtype} are not supported`)
}

/** Saves a model (topology and weights, no optimizer) to `dir`, replacing what was there atomically. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await buildDirectoryAtomically(dir, async (staging) => {
    await model.save(folderHandler(staging))
  })
}

/**
 * Loads a model saved by saveModel. Custom layers must be registered first (importing the module that defines them
 * registers them).
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderHandler(dir))
}

/**
 * Copies the weights saved in `dir` into `model`, by position: the model must have the architecture that was saved.
 * Unlike loadModel this does not rebuild the topology, so the model keeps its compiled loss and optimizer.
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const [specs, data] = readWeights(dir, readModelJson(dir).weightsManifest)
  const values = decodeInOrder(specs, data)
  const expected = model.weights.map((w) => w.shape)
  const shapesMatch = values.length === expected.length && values.every((v, i) => v.shape.join('x') === expected[i].join('x'))
  if (!shapesMatch) {
    tf.dispose(values)
    throw new Error(`${dir}: saved weights (${values.length} arrays) do not fit this model's architecture (${expected.length} arrays)`)
  }
  model.setWeights(values)
  tf.dispose(values)
}

function decodeInOrder(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): tf.Tensor[] {
  // decodeWeights returns a map keyed by name; reading back in spec order keeps positions even if names repeat.
  const renamed = specs.map((spec, i) => ({...spec, name: String(i)}))
  const decoded = tf.io.decodeWeights(data, renamed)
  return renamed.map((spec) => decoded[spec.name])
}

/** Writes named tensors (e.g. optimizer state) as `<stem>.json` (specs) and `<stem>.bin` (values) in `dir`. */
export async function saveTensors(tensors: NamedTensor[], dir: string, stem: string): Promise<void> {
  const {data, specs} = await tf.io.encodeWeights(tensors)
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, `${stem}.bin`), new Uint8Array(tf.io.CompositeArrayBuffer.join(data)))
  writeFileSync(join(dir, `${stem}.json`), JSON.stringify(specs))
}

/** Reads tensors written by saveTensors, in the order they were saved. */
export function loadTensors(dir: string, stem: string): NamedTensor[] {
  const specs = JSON.parse(readFileSync(join(dir, `${stem}.json`), 'utf8')) as tf.io.WeightsManifestEntry[]
  const bytes = readFileSync(join(dir, `${stem}.bin`))
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const tensors = decodeInOrder(specs, data)
  return specs.map((spec, i) => ({name: spec.name, tensor: tensors[i]}))
}
