import {datasetSpec} from '../src/seld/features/datasets.js'
import {createBank, datasetOptions, synthesizeRecording, type SynthOptions} from '../src/seld/synth/synthesize.js'
import {encodeWav, floatToPcm16} from '../src/seld/io/wav.js'

// Seconds to synthesize one 30 s recording and encode its WAV: the target case is 4-channel FOA, ov3, reverberant.
const RUNS = 5
const TARGET_SECONDS = 2

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** Wall and CPU seconds of `work` (other processes on a shared machine stretch wall time, not the work done). */
function timed<T>(work: () => T): {result: T; wall: number; cpu: number} {
  const start = performance.now()
  const cpu = process.cpuUsage()
  const result = work()
  const used = process.cpuUsage(cpu)
  return {result, wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6}
}

function measure(dataset: string, ov: number) {
  const options: SynthOptions = datasetOptions(datasetSpec(dataset), {
    ov, split: 1, trainFiles: RUNS, testFiles: 0, duration: 30, seed: 2018, rt60: 0.4, shiftTestDoa: false,
  })
  const bank = createBank(options)
  const runs: Array<{synthWall: number; synthCpu: number; encodeWall: number; encodeCpu: number; events: number}> = []
  // One warm-up recording (JIT), then RUNS different recordings, each with its own sounds and room.
  for (let index = -1; index < RUNS; index++) {
    const synth = timed(() => synthesizeRecording(options, bank, {name: `train_${index}`, set: 'train', index: index + 100}))
    const encode = timed(() => encodeWav(floatToPcm16(synth.result.channels, options.sampleRate)))
    if (index >= 0) runs.push({synthWall: synth.wall, synthCpu: synth.cpu, encodeWall: encode.wall, encodeCpu: encode.cpu, events: synth.result.events.length})
  }
  const of = (key: keyof (typeof runs)[number]) => median(runs.map((run) => run[key]))
  return {total: median(runs.map((run) => run.synthWall + run.encodeWall)), synthWall: of('synthWall'), synthCpu: of('synthCpu'), encodeWall: of('encodeWall'), encodeCpu: of('encodeCpu'), events: of('events')}
}

let target = 0
for (const [dataset, ov] of [['synth-foa-reverb', 3], ['synth-foa', 1], ['synth-mic-reverb', 3], ['synth-foa-moving', 1], ['synth-foa-reverb-moving', 3]] as const) {
  const m = measure(dataset, ov)
  if (dataset === 'synth-foa-reverb') target = m.total
  console.log(`${dataset} ov${ov}${dataset.includes('reverb') ? ' RT60 0.4 s' : ''}, 30 s, ${m.events} events: median ${m.total.toFixed(3)} s per file over ${RUNS} files ` +
    `(synthesis ${m.synthWall.toFixed(3)} s, CPU ${m.synthCpu.toFixed(3)} s; WAV encoding ${m.encodeWall.toFixed(3)} s, CPU ${m.encodeCpu.toFixed(3)} s)`)
}
console.log(`target: synth-foa-reverb ov3 ≤ ${TARGET_SECONDS} s per file: ${target <= TARGET_SECONDS ? 'within target' : 'ABOVE TARGET'}`)
