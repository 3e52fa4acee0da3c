/**
 * The output presets of the network and how each becomes the same per-frame activity and DOA arrays, so the metrics,
 * the plots and `predict` never see which one a model has:
 * - `seldnet` (Adavanne et al. 2018): a sigmoid activity per class and a tanh DOA regression (x, y, z per class);
 * - `accdoa` (DCASE 2021, Shimada et al.): one Cartesian vector per class whose length is the activity;
 * - `multi_accdoa` (DCASE 2022): three such vectors (tracks) per class, trained with the auxiliary-duplicating
 *   permutation-invariant loss (ADPIT).
 */
import * as tf from '@tensorflow/tfjs'

export const OUTPUT_KINDS = ['seldnet', 'accdoa', 'multi_accdoa'] as const
export type OutputKind = (typeof OUTPUT_KINDS)[number]

export const SED_OUTPUT = 'sed_out'
export const DOA_OUTPUT = 'doa_out'
export const ACCDOA_OUTPUT = 'accdoa_out'
export const MULTI_ACCDOA_OUTPUT = 'multi_accdoa_out'

/** Tracks per class of a multi-ACCDOA output. */
export const TRACKS = 3
/** Slots of the ADPIT target per class: A0 (one source of the class), B0 B1 (two), C0 C1 C2 (three). */
export const ADPIT_SLOTS = 6
/** An ACCDOA vector longer than this means an active class (as the DCASE baselines threshold it). */
export const ACCDOA_THRESHOLD = 0.5
/** Active multi-ACCDOA tracks of a class closer than this many degrees are one source (the DCASE 2022 `thresh_unify`). */
export const UNIFY_DEGREES = 15

export function isOutputKind(value: unknown): value is OutputKind {
  return typeof value === 'string' && (OUTPUT_KINDS as readonly string[]).includes(value)
}

/** Which preset a (built or loaded) model has, from the names of its output layers. */
export function outputKindOf(model: tf.LayersModel): OutputKind {
  const names = model.outputNames
  if (names.length === 2 && names[0] === SED_OUTPUT && names[1] === DOA_OUTPUT) return 'seldnet'
  if (names.length === 1 && names[0] === ACCDOA_OUTPUT) return 'accdoa'
  if (names.length === 1 && names[0] === MULTI_ACCDOA_OUTPUT) return 'multi_accdoa'
  // Two outputs are SELDnet's interface (activity, DOA) whatever the layers are named.
  if (names.length === 2) return 'seldnet'
  throw new Error(`a model with outputs ${names.join(', ')} is none of the output presets (${OUTPUT_KINDS.join(', ')})`)
}

/** Per-frame activities (frames × K) and directions (frames × DK: x of every class, then y, then z), as seldnet gives them. */
export interface ActivityDoa {
  sed: Float32Array
  doa: Float32Array
}

/**
 * ACCDOA frames (frames × 3K: x of every class, then y, then z) as activities and unit directions: the activity is the
 * vector's length (capped at 1, the most a probability says), the direction the vector scaled to unit length (zero
 * when the vector is).
 */
export function accdoaToActivityDoa(values: Float32Array, frames: number, classes: number): ActivityDoa {
  const width = 3 * classes
  if (values.length !== frames * width) throw new Error(`ACCDOA output holds ${values.length} values, expected ${frames} frames × ${width}`)
  const sed = new Float32Array(frames * classes)
  const doa = new Float32Array(frames * width)
  for (let f = 0; f < frames; f++) {
    const row = f * width
    for (let k = 0; k < classes; k++) {
      const [x, y, z] = [values[row + k], values[row + classes + k], values[row + 2 * classes + k]]
      const length = Math.hypot(x, y, z)
      sed[f * classes + k] = Math.min(1, length)
      if (length === 0) continue
      doa[row + k] = x / length
      doa[row + classes + k] = y / length
      doa[row + 2 * classes + k] = z / length
    }
  }
  return {sed, doa}
}

function angleDegrees(a: number[], b: number[]): number {
  const cosine = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (Math.hypot(...a) * Math.hypot(...b))
  return (Math.acos(Math.max(-1, Math.min(1, cosine))) * 180) / Math.PI
}

/**
 * Multi-ACCDOA frames (frames × 9K: track 0's x of every class, y, z, then track 1's, then track 2's) as one activity
 * and direction per class and frame, which is what the 2018 labels and metrics hold: the activity is the longest
 * track's length (capped at 1); the direction is the mean of that track and every other active track (length above
 * ACCDOA_THRESHOLD) within UNIFY_DEGREES of it, as the DCASE 2022 baseline merges duplicated tracks, scaled to unit
 * length.
 */
export function multiAccdoaToActivityDoa(values: Float32Array, frames: number, classes: number): ActivityDoa {
  const width = TRACKS * 3 * classes
  if (values.length !== frames * width) throw new Error(`multi-ACCDOA output holds ${values.length} values, expected ${frames} frames × ${width}`)
  const sed = new Float32Array(frames * classes)
  const doa = new Float32Array(frames * 3 * classes)
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < classes; k++) {
      const tracks = Array.from({length: TRACKS}, (_, t) => [0, 1, 2].map((axis) => values[f * width + (t * 3 + axis) * classes + k]))
      const lengths = tracks.map((vector) => Math.hypot(...vector))
      const strongest = lengths.indexOf(Math.max(...lengths))
      sed[f * classes + k] = Math.min(1, lengths[strongest])
      if (lengths[strongest] === 0) continue
      const merged = tracks[strongest].slice()
      tracks.forEach((vector, t) => {
        if (t === strongest || lengths[t] <= ACCDOA_THRESHOLD || lengths[strongest] <= ACCDOA_THRESHOLD) return
        if (angleDegrees(vector, tracks[strongest]) < UNIFY_DEGREES) vector.forEach((value, axis) => (merged[axis] += value))
      })
      const length = Math.hypot(...merged)
      merged.forEach((value, axis) => (doa[f * 3 * classes + axis * classes + k] = value / length))
    }
  }
  return {sed, doa}
}

/**
 * The model's raw outputs for some frames (one array per output, frames × width) as activities and directions.
 * `seldnet` outputs already are.
 */
export function toActivityDoa(kind: OutputKind, outputs: Float32Array[], frames: number, classes: number): ActivityDoa {
  if (kind === 'seldnet') return {sed: outputs[0], doa: outputs[1]}
  if (kind === 'accdoa') return accdoaToActivityDoa(outputs[0], frames, classes)
  return multiAccdoaToActivityDoa(outputs[0], frames, classes)
}

/** ACCDOA targets (frames × 3K) from activities (frames × K) and unit directions (frames × 3K): activity · direction. */
export function accdoaTargets(sed: Float32Array, doa: Float32Array, frames: number, classes: number): Float32Array {
  const target = new Float32Array(frames * 3 * classes)
  for (let f = 0; f < frames; f++) {
    for (let axis = 0; axis < 3; axis++) {
      for (let k = 0; k < classes; k++) target[(f * 3 + axis) * classes + k] = sed[f * classes + k] * doa[(f * 3 + axis) * classes + k]
    }
  }
  return target
}

/**
 * ADPIT targets (frames × 6 slots × 4 (activity, x, y, z) × K, the DCASE 2022 label layout) from the 2018 targets,
 * which hold at most one source per class and frame: every active class fills slot A0, the others stay empty.
 */
export function adpitTargets(sed: Float32Array, doa: Float32Array, frames: number, classes: number): Float32Array {
  const target = new Float32Array(frames * ADPIT_SLOTS * 4 * classes)
  for (let f = 0; f < frames; f++) {
    const slotA0 = f * ADPIT_SLOTS * 4 * classes
    for (let k = 0; k < classes; k++) {
      target[slotA0 + k] = sed[f * classes + k]
      for (let axis = 0; axis < 3; axis++) target[slotA0 + (1 + axis) * classes + k] = doa[(f * 3 + axis) * classes + k]
    }
  }
  return target
}

/** Mean squared error of ACCDOA outputs against their targets, over every value (the DCASE 2021 loss). */
export function accdoaLoss(target: tf.Tensor, output: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(target, output)) as tf.Scalar)
}

// The 13 track assignments ADPIT tries: A0 on every track; the 6 ways of putting B0 and B1 on 3 tracks (one of them
// twice); the 6 orders of C0, C1, C2. Slots: 0 A0, 1 B0, 2 B1, 3 C0, 4 C1, 5 C2.
const A_PERMUTATIONS = [[0, 0, 0]]
const B_PERMUTATIONS = [[1, 1, 2], [1, 2, 1], [1, 2, 2], [2, 1, 1], [2, 1, 2], [2, 2, 1]]
const C_PERMUTATIONS = [[3, 4, 5], [3, 5, 4], [4, 3, 5], [4, 5, 3], [5, 3, 4], [5, 4, 3]]

// Every assignment's target for every track, as a sum of slot vectors: the assignment's slot plus the other two
// groups' first assignments as padding. A 0/1 matrix from (slot, axis) to (assignment, track, axis), so that all 13
// assignments of every frame and class come from one matrix product.
const ASSIGNMENTS = [A_PERMUTATIONS, B_PERMUTATIONS, C_PERMUTATIONS].flatMap((group, g) => group.map((permutation) => ({permutation, g})))
const ASSIGNMENT_COLUMNS = ASSIGNMENTS.length * TRACKS * 3
const ASSIGNMENT_MATRIX = (() => {
  const firsts = [A_PERMUTATIONS[0], B_PERMUTATIONS[0], C_PERMUTATIONS[0]]
  const matrix = new Float32Array(ADPIT_SLOTS * 3 * ASSIGNMENT_COLUMNS)
  ASSIGNMENTS.forEach(({permutation, g}, j) => {
    for (let track = 0; track < TRACKS; track++) {
      const padding = firsts.filter((_, other) => other !== g).map((first) => first[track])
      for (const slot of [permutation[track], ...padding]) {
        for (let axis = 0; axis < 3; axis++) matrix[(slot * 3 + axis) * ASSIGNMENT_COLUMNS + (j * TRACKS + track) * 3 + axis] += 1
      }
    }
  })
  return matrix
})()

/**
 * The auxiliary-duplicating permutation-invariant loss of multi-ACCDOA (Shimada et al., ICASSP 2022), as in the DCASE
 * 2022 baseline. `target` is [batch, frames, 6 · 4 · K] (see adpitTargets), `output` [batch, frames, 3 · 3 · K]. For
 * every batch item, frame and class it takes the smallest mean squared error over the 13 assignments of the target
 * slots to the 3 tracks, each padded with the other groups' vectors so that no track is trained towards zero for a
 * class that is active; the loss is the mean of these minima. The assignments are built by one matrix product and
 * compared in one broadcast difference: a few large kernels rather than dozens of small slices and concatenations.
 */
export function adpitLoss(target: tf.Tensor, output: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [batch, frames] = output.shape
    const classes = output.shape[2]! / (TRACKS * 3)
    const rows = batch! * frames! * classes
    const slots = tf.reshape(target, [batch!, frames!, ADPIT_SLOTS, 4, classes])
    // Every slot's ACCDOA vector, activity · (x, y, z), as one row of 6 slots × 3 axes per batch item, frame and class.
    const vectors = tf.mul(tf.slice(slots, [0, 0, 0, 0, 0], [-1, -1, -1, 1, -1]), tf.slice(slots, [0, 0, 0, 1, 0], [-1, -1, -1, 3, -1]))
    const perFrame = tf.reshape(vectors, [batch! * frames!, ADPIT_SLOTS, 3, classes])
    const rowsOfSlots = tf.reshape(tf.transpose(perFrame, [0, 3, 1, 2]), [rows, ADPIT_SLOTS * 3])
    const matrix = tf.tensor2d(ASSIGNMENT_MATRIX, [ADPIT_SLOTS * 3, ASSIGNMENT_COLUMNS])
    const assigned = tf.reshape(tf.matMul(rowsOfSlots, matrix), [rows, ASSIGNMENTS.length, TRACKS * 3])
    const predicted = tf.reshape(tf.transpose(tf.reshape(output, [batch!, frames!, TRACKS * 3, classes]), [0, 1, 3, 2]), [rows, 1, TRACKS * 3])
    // sub, not squaredDifference: tfjs does not reduce squaredDifference's gradient over broadcast axes.
    const losses = tf.mean(tf.square(tf.sub(predicted, assigned)), 2)
    // The first smallest assignment only, as the baseline's argmin picks it: a plain min would pass the gradient to
    // every tied assignment (all 13 tie whenever a class has no same-class overlap).
    const chosen = tf.cast(tf.oneHot(tf.argMin(losses, -1), ASSIGNMENTS.length), 'float32')
    return tf.mean(tf.sum(tf.mul(losses, chosen), -1)) as tf.Scalar
  })
}
