import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {datasetSpec, frameCount} from '../src/seld/features/datasets.js'
import {extractFeatureFile, extractFeatureFiles, type FeatureSettings} from '../src/seld/features/features.js'
import {floatToPcm16, writeWav} from '../src/seld/io/wav.js'
import {featureShape, featureSpec} from '../src/seld/features/feature-kinds.js'

// Features of a 30 s, 4-channel, 44.1 kHz recording with nfft 512: read + STFT + magnitude/phase + write, per file.
// `-- --kind logmel_iv --nfft 1024` (or logmel_gcc) times another feature preset; the target is the published one's.
const RUNS = 9
const POOL_FILES = 8
const TARGET_SECONDS = 0.25

const dataset = datasetSpec('ansim')
const flag = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : fallback
}
const nfft = Number(flag('nfft', '512'))
const spec = featureSpec(nfft, flag('kind', 'stft'), Number(flag('mel-bands', '64')))
const samples = dataset.seconds * dataset.sampleRate
const channels = Array.from({length: dataset.channels}, (_, c) => {
  const channel = new Float32Array(samples)
  let noise = 12345 + c
  for (let i = 0; i < samples; i++) {
    noise = (noise * 1103515245 + 12345) >>> 0
    channel[i] = 0.3 * Math.sin((2 * Math.PI * (440 + 110 * c) * i) / dataset.sampleRate) + 0.1 * (noise / 2 ** 32 - 0.5)
  }
  return channel
})
const work = mkdtempSync(path.join(tmpdir(), 'seld-bench-features-'))
try {
  const wav = path.join(work, 'train_0.wav')
  writeWav(wav, floatToPcm16(channels, dataset.sampleRate))
  const settings: FeatureSettings = {nfft, kind: spec.kind, melBands: spec.melBands, seconds: dataset.seconds, channels: dataset.channels, sampleRate: dataset.sampleRate}

  const times: number[] = []
  // CPU time too: other processes on a shared machine stretch wall time, not the work done.
  const cpuTimes: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now()
    const cpu = process.cpuUsage()
    extractFeatureFile(wav, path.join(work, 'train_0.npy'), settings)
    const used = process.cpuUsage(cpu)
    times.push((performance.now() - start) / 1000)
    cpuTimes.push((used.user + used.system) / 1e6)
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

  const jobs = Array.from({length: POOL_FILES}, (_, i) => ({wav, npy: path.join(work, `pool_${i}.npy`)}))
  const poolStart = performance.now()
  const poolCpu = process.cpuUsage()
  await extractFeatureFiles(jobs, settings)
  const poolPerFile = (performance.now() - poolStart) / 1000 / POOL_FILES
  const poolCpuUsed = process.cpuUsage(poolCpu)
  const poolCpuPerFile = (poolCpuUsed.user + poolCpuUsed.system) / 1e6 / POOL_FILES

  console.log(`${spec.kind} features, ${dataset.channels} ch × ${dataset.seconds} s at ${dataset.sampleRate} Hz, nfft ${nfft} (${frameCount(samples, nfft)} frames × ${featureShape(spec, dataset.channels).join(' × ')})`)
  console.log(`median seconds per file (one thread, ${RUNS} runs): ${median(times).toFixed(3)} (min ${Math.min(...times).toFixed(3)}; target ≤ ${TARGET_SECONDS}); CPU seconds: ${median(cpuTimes).toFixed(3)}`)
  console.log(`seconds per file with worker threads over ${POOL_FILES} files: ${poolPerFile.toFixed(3)}; CPU seconds per file: ${poolCpuPerFile.toFixed(3)}`)
  console.log(median(times) <= TARGET_SECONDS ? 'within target' : 'ABOVE TARGET')
} finally {
  rmSync(work, {recursive: true, force: true})
}
