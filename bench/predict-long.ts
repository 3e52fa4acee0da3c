// Peak memory of `seldpipe predict` on a long recording: npm run bench:predict-long -- --minutes 10
// Writes a noise WAV of the asked length (in blocks) and a default-sized SELDnet with random weights, runs the CLI on
// it, and reports the child's peak resident set size (VmHWM), which should not grow with the length.
import {spawn} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {initBackend} from '../src/seld/model/backend.js'
import {datasetSpec} from '../src/seld/features/datasets.js'
import {writeScaler} from '../src/seld/features/scaler.js'
import {encodeWav} from '../src/seld/io/wav.js'
import {writePredictInfo} from '../src/seld/model/model-folder.js'
import {saveModel} from '../src/seld/model/model-io.js'
import {buildSeldnet} from '../src/seld/model/model.js'

const {values} = parseArgs({options: {minutes: {type: 'string', default: '10'}, plot: {type: 'boolean', default: true}}})
const minutes = Number(values.minutes)
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${values.minutes}`)
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dataset = datasetSpec('synth-foa')
const nfft = 512
const work = mkdtempSync(join(tmpdir(), 'seldpipe-bench-predict-long-'))

try {
  // The recording: a header for the whole length, then seeded noise a second at a time.
  const wav = join(work, 'long.wav')
  const seconds = Math.round(minutes * 60)
  const header = encodeWav({sampleRate: dataset.sampleRate, channels: dataset.channels, samples: new Int16Array(0)})
  const view = new DataView(header.buffer)
  const dataBytes = seconds * dataset.sampleRate * dataset.channels * 2
  view.setUint32(4, header.length - 8 + dataBytes, true)
  view.setUint32(header.length - 4, dataBytes, true)
  const fd = openSync(wav, 'w')
  writeSync(fd, header)
  const block = new Int16Array(dataset.sampleRate * dataset.channels)
  let state = 7
  for (let second = 0; second < seconds; second++) {
    for (let i = 0; i < block.length; i++) block[i] = ((state = (state * 1103515245 + 12345) >>> 0) >>> 20) - 2048
    writeSync(fd, new Uint8Array(block.buffer))
  }
  closeSync(fd)

  // The model: the default parameters' network (params/default.yaml), untrained.
  await initBackend('cpu', () => {})
  const bins = nfft / 2
  const channels = 2 * dataset.channels
  const model = buildSeldnet({
    seqLen: 64, bins, channels, classes: Object.keys(dataset.classIndex).length, convFilters: 64, poolSizes: [8, 8, 2],
    rnnUnits: 64, fnnUnits: 64, dropout: 0, lossWeights: [1, 50], aziOnly: false, lr: 0.002,
  })
  const modelDir = join(work, 'model')
  await saveModel(model, join(modelDir, 'best'))
  const scalerFile = join(work, 'scaler.json')
  writeScaler(scalerFile, {featureShape: [bins, channels], count: 1, mean: new Array(bins * channels).fill(0), scale: new Array(bins * channels).fill(1)})
  writePredictInfo(modelDir, dataset, nfft, scalerFile)

  const began = Date.now()
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'predict', wav, '--model', modelDir, '--out', work, ...(values.plot ? [] : ['--no-plot'])], {stdio: ['ignore', 'ignore', 'inherit']})
  let peakKiB = 0
  const sample = () => {
    try {
      peakKiB = Math.max(peakKiB, Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0))
    } catch {
      // The process has ended.
    }
  }
  const timer = setInterval(sample, 50)
  const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)))
  clearInterval(timer)
  if (code !== 0) throw new Error(`seldpipe predict exited with ${code}`)
  console.log(JSON.stringify({minutes, plot: values.plot, peak_rss_mb: Math.round(peakKiB / 1024), seconds: Math.round((Date.now() - began) / 100) / 10}))
} finally {
  rmSync(work, {recursive: true, force: true})
}
