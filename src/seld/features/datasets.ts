/** What every stage needs to know about a dataset: its audio format, its class dictionary and where its data comes from. */
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
  room: 'anechoic' | 'reverberant'
  /** True when the zips come from the synth stage rather than a download. */
  synthetic: boolean
  /** The Zenodo record publishing the dataset (downloaded datasets only). */
  zenodoRecord?: number
  /** The split numbers in the published zip names; seldpipe's split n is the n-th (absent: any split, as numbered). */
  splits?: number[]
  /** The overlaps published (absent: any). */
  overlaps?: number[]
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

const FOA = {kind: 'foa', channels: 4, sampleRate: 44100, seconds: 30} as const
const MIC = {kind: 'mic', channels: 8, sampleRate: 44100, seconds: 30} as const
const PUBLISHED = {synthetic: false, overlaps: [1, 2, 3]}
const SYNTHESIZED = {synthetic: true}

/** The datasets seldpipe knows, one line each (README: "Using the real TUT Sound Events 2018 data"). */
export const DATASETS: Record<string, DatasetSpec> = {
  ansim: {name: 'ansim', ...FOA, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...PUBLISHED, zenodoRecord: 1237703, splits: [1, 2, 3]},
  resim: {name: 'resim', ...FOA, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...PUBLISHED, zenodoRecord: 1237707, splits: [1, 2, 3]},
  cansim: {name: 'cansim', ...MIC, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...PUBLISHED, zenodoRecord: 1237752, splits: [1, 2, 3]},
  cresim: {name: 'cresim', ...MIC, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...PUBLISHED, zenodoRecord: 1237754, splits: [1, 2, 3]},
  real: {name: 'real', ...FOA, room: 'reverberant', classIndex: URBANSOUND_CLASSES, ...PUBLISHED, zenodoRecord: 1237793, splits: [1, 8, 9]},
  mansim: {name: 'mansim', ...FOA, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...PUBLISHED, zenodoRecord: 2636586, splits: [1, 2, 3], moving: true},
  mreal: {name: 'mreal', ...FOA, room: 'reverberant', classIndex: URBANSOUND_CLASSES, ...PUBLISHED, zenodoRecord: 2636594, splits: [1, 2, 3], moving: true},
  'synth-foa': {name: 'synth-foa', ...FOA, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED},
  'synth-foa-reverb': {name: 'synth-foa-reverb', ...FOA, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED},
  'synth-mic': {name: 'synth-mic', ...MIC, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED},
  'synth-mic-reverb': {name: 'synth-mic-reverb', ...MIC, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED},
  'synth-foa-moving': {name: 'synth-foa-moving', ...FOA, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED, moving: true},
  'synth-foa-reverb-moving': {name: 'synth-foa-reverb-moving', ...FOA, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED, moving: true},
  'synth-mic-moving': {name: 'synth-mic-moving', ...MIC, room: 'anechoic', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED, moving: true},
  'synth-mic-reverb-moving': {name: 'synth-mic-reverb-moving', ...MIC, room: 'reverberant', classIndex: DCASE2016_CLASSES, ...SYNTHESIZED, moving: true},
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

/**
 * The split number a dataset publishes for seldpipe's split `split`: a published number is itself, and 1, 2, 3 … name
 * the published splits in order (REAL publishes 1, 8 and 9, so its split 2 is the published 8).
 */
export function publishedSplit(dataset: DatasetSpec, split: number): number {
  if (!dataset.splits || dataset.splits.includes(split)) return split
  const mapped = Number.isInteger(split) ? dataset.splits[split - 1] : undefined
  if (mapped === undefined) {
    throw new Error(`${dataset.name} has no split ${split}: it publishes splits ${dataset.splits.join(', ')} (also reachable as 1…${dataset.splits.length})`)
  }
  return mapped
}

/** Refuses an overlap the dataset does not publish. */
export function checkOverlap(dataset: DatasetSpec, ov: number): number {
  if (dataset.overlaps && !dataset.overlaps.includes(ov)) throw new Error(`${dataset.name} has no overlap ${ov}: it publishes ${dataset.overlaps.join(', ')}`)
  return ov
}

/** One split's zip as the TUT Sound Events 2018 datasets publish it: both folders at the root of one zip. */
export interface SplitLayout {
  /** e.g. ov1_split8.zip */
  zip: string
  /** e.g. wav_ov1_split8_30db */
  wavFolder: string
  /** e.g. desc_ov1_split8 */
  descFolder: string
}

/** The layout of a split numbered as published. */
export function splitLayout(ov: number, published: number): SplitLayout {
  return {zip: `ov${ov}_split${published}.zip`, wavFolder: `wav_ov${ov}_split${published}_30db`, descFolder: `desc_ov${ov}_split${published}`}
}

/** Frames of a recording of `samples` samples, as the published feature code counts them. */
export function frameCount(samples: number, nfft: number): number {
  return Math.ceil((samples - nfft) / (nfft / 2))
}

/** Every number that follows from a sample rate and an FFT size; derived here only. */
export interface FrameGrid {
  nfft: number
  /** Samples between frames: nfft / 2. */
  hop: number
  /** Frequency bins kept: nfft / 2 (the Nyquist bin is dropped, as published). */
  bins: number
  /** Frames per second of audio, exactly: sample rate / hop. Times and frames convert with it. */
  framesPerSecond: number
  /** Frames per 1-second block of the 2018 metrics, rounded as the published code does. */
  metricFramesPerSecond: number
  /** Seconds between frames. */
  frameSeconds: number
}

export function frameGrid(sampleRate: number, nfft: number): FrameGrid {
  if (!Number.isInteger(nfft) || nfft < 4 || (nfft & (nfft - 1)) !== 0) throw new Error(`nfft must be a power of two of at least 4, got ${nfft}`)
  const hop = nfft / 2
  return {nfft, hop, bins: nfft / 2, framesPerSecond: sampleRate / hop, metricFramesPerSecond: Math.round(sampleRate / hop), frameSeconds: hop / sampleRate}
}

/** Frames of one of the dataset's fixed-length recordings at this FFT size (features and labels have this many). */
export function recordingFrames(dataset: DatasetSpec, nfft: number): number {
  return frameCount(dataset.seconds * dataset.sampleRate, nfft)
}
