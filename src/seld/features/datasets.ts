/** What every stage needs to know about a dataset: its audio format and its class dictionary. */
export interface DatasetSpec {
  name: string
  /** foa: first-order Ambisonics (4 channels, ACN/SN3D); mic: 8-microphone circular array. */
  kind: 'foa' | 'mic'
  channels: number
  sampleRate: number
  /** Fixed recording length in seconds: features and labels are padded or cut to it. */
  seconds: number
  /** Class name -> output column, as in the published code. */
  classIndex: Record<string, number>
  /** True when the zips come from the synth stage rather than a download. */
  synthetic: boolean
  room: 'anechoic' | 'reverberant'
  /** Sources move (MANSIM-layout descriptions with per-frame trajectories). */
  moving?: boolean
}

/** The 11 DCASE 2016 task 2 classes with the column order of the published SELDnet code. */
export const DCASE2016_CLASSES: Record<string, number> = {
  clearthroat: 2, cough: 8, doorslam: 9, drawer: 1, keyboard: 6, keysDrop: 4,
  knock: 0, laughter: 10, pageturn: 7, phone: 3, speech: 5,
}

/** UrbanSound8K class ids used by the REAL dataset, as in the published code. */
export const URBANSOUND_CLASSES: Record<string, number> = {1: 0, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5, 8: 6, 9: 7}

const SAMPLE_RATE = 44100

function spec(name: string, kind: 'foa' | 'mic', room: 'anechoic' | 'reverberant', synthetic: boolean, classIndex = DCASE2016_CLASSES): DatasetSpec {
  return {name, kind, channels: kind === 'foa' ? 4 : 8, sampleRate: SAMPLE_RATE, seconds: 30, classIndex, synthetic, room}
}

export const DATASETS: Record<string, DatasetSpec> = {
  ansim: spec('ansim', 'foa', 'anechoic', false),
  resim: spec('resim', 'foa', 'reverberant', false),
  cansim: spec('cansim', 'mic', 'anechoic', false),
  cresim: spec('cresim', 'mic', 'reverberant', false),
  real: spec('real', 'foa', 'reverberant', false, URBANSOUND_CLASSES),
  mansim: {...spec('mansim', 'foa', 'anechoic', false), moving: true},
  mreal: {...spec('mreal', 'foa', 'reverberant', false, URBANSOUND_CLASSES), moving: true},
  'synth-foa': spec('synth-foa', 'foa', 'anechoic', true),
  'synth-foa-reverb': spec('synth-foa-reverb', 'foa', 'reverberant', true),
  'synth-mic': spec('synth-mic', 'mic', 'anechoic', true),
  'synth-mic-reverb': spec('synth-mic-reverb', 'mic', 'reverberant', true),
  'synth-foa-moving': {...spec('synth-foa-moving', 'foa', 'anechoic', true), moving: true},
  'synth-foa-reverb-moving': {...spec('synth-foa-reverb-moving', 'foa', 'reverberant', true), moving: true},
  'synth-mic-moving': {...spec('synth-mic-moving', 'mic', 'anechoic', true), moving: true},
  'synth-mic-reverb-moving': {...spec('synth-mic-reverb-moving', 'mic', 'reverberant', true), moving: true},
}

export function datasetSpec(name: string): DatasetSpec {
  const found = DATASETS[name]
  if (!found) throw new Error(`unknown dataset '${name}' (known: ${Object.keys(DATASETS).join(', ')})`)
  return found
}

export function classNames(dataset: DatasetSpec): string[] {
  const names: string[] = []
  for (const [name, column] of Object.entries(dataset.classIndex)) names[column] = name
  return names
}

/** Frames of a recording of `samples` samples, as the published feature code counts them. */
export function frameCount(samples: number, nfft: number): number {
  return Math.ceil((samples - nfft) / (nfft / 2))
}
