/**
 * Spatial encoding of sound arriving along propagation paths, into the two receiver kinds of the TUT 2018 sets.
 *
 * Coordinates: x front, y left, z up (metres, relative to the receiver centre). Azimuth is measured from +x towards
 * +y (counter-clockwise seen from above, so 90° is left), elevation from the horizontal plane towards +z, both in
 * degrees, as in the published SELDnet labels (x = cos(ele)·cos(azi), y = cos(ele)·sin(azi), z = sin(ele)).
 *
 * - foa: first-order Ambisonics, ACN channel order W, Y, Z, X with SN3D normalisation, so a plane wave of signal s
 *   from unit direction (x, y, z) gives W = s, Y = y·s, Z = z·s, X = x·s.
 * - mic: 8 omnidirectional microphones on a horizontal circle of radius 5 cm (MIC_ARRAY_RADIUS) centred on the origin,
 *   microphone m (m = 0…7) at azimuth 45°·m: mic 0 front (+x), mic 2 left (+y), mic 4 back, mic 6 right, all at z = 0.
 *   Each microphone receives every path with its own propagation delay (exact distance from the source to that
 *   microphone) by a windowed-sinc fractional delay. The array is planar, so a source at elevation +e and one at −e
 *   give identical signals: elevation is only known up to its sign, and poorly near 0° where the delays change with
 *   cos(e) only to second order.
 */

import type {Vec3} from '../features/trajectories.js'

export type {Vec3}
/** Direction conventions are those of the labels: one definition for both. */
export {unitVector} from '../features/trajectories.js'

export const SPEED_OF_SOUND = 343

export const MIC_ARRAY_RADIUS = 0.05
export const MIC_POSITIONS: Vec3[] = Array.from({length: 8}, (_, m) => {
  const angle = (m * Math.PI) / 4
  return [MIC_ARRAY_RADIUS * Math.cos(angle), MIC_ARRAY_RADIUS * Math.sin(angle), 0]
})

/** Half-length of the fractional-delay filter, in samples (the filter has 2·HALF_TAPS taps). */
const HALF_TAPS = 16
/**
 * Samples by which every rendered response is delayed, so the fractional-delay filter stays causal even for a
 * microphone that the direct path reaches before it reaches the array centre. Mixing shifts events back by it.
 */
export const RENDER_LATENCY = HALF_TAPS + 8

/** One way sound reaches the receiver: from a (possibly image) source at `position`, scaled by `gain`. */
export interface Path {
  position: Vec3
  gain: number
}

function norm(v: Vec3): number {
  return Math.hypot(v[0], v[1], v[2])
}

/** FOA gains of a plane wave from unit direction `d`, in ACN order W, Y, Z, X (SN3D). */
function foaGains(d: Vec3): [number, number, number, number] {
  return [1, d[1], d[2], d[0]]
}

/** cos and sin of π·k / HALF_TAPS for the taps k = −HALF_TAPS + 1 … HALF_TAPS, for the window by angle addition. */
const TAP_ANGLES = Array.from({length: 2 * HALF_TAPS}, (_, j) => {
  const angle = (Math.PI * (j - HALF_TAPS + 1)) / HALF_TAPS
  return {cos: Math.cos(angle), sin: Math.sin(angle), cos2: Math.cos(2 * angle), sin2: Math.sin(2 * angle)}
})

/**
 * Adds a Blackman-windowed sinc centred at fractional sample `delay` into each target, scaled by its gain. With
 * t = k − f, sin(πt) = −(−1)^k sin(πf) and the window's cosines follow by angle addition, so a path costs two sines
 * and two cosines instead of three trigonometric calls per tap.
 */
function addFractionalDelay(targets: Float32Array[], gains: number[], delay: number): void {
  const base = Math.floor(delay)
  const fraction = delay - base
  const sinFraction = Math.sin(Math.PI * fraction)
  const shift = (Math.PI * fraction) / HALF_TAPS
  const [cosShift, sinShift, cos2Shift, sin2Shift] = [Math.cos(shift), Math.sin(shift), Math.cos(2 * shift), Math.sin(2 * shift)]
  for (let j = 0; j < 2 * HALF_TAPS; j++) {
    const k = j - HALF_TAPS + 1
    const t = k - fraction
    const sinc = t === 0 ? 1 : ((k % 2 === 0 ? -1 : 1) * sinFraction) / (Math.PI * t)
    const angles = TAP_ANGLES[j]
    const window = 0.42 + 0.5 * (angles.cos * cosShift + angles.sin * sinShift) + 0.08 * (angles.cos2 * cos2Shift + angles.sin2 * sin2Shift)
    const tap = sinc * window
    if (Math.abs(tap) < 1e-12) continue
    const index = base + k
    for (let c = 0; c < targets.length; c++) if (index >= 0 && index < targets[c].length) targets[c][index] += gains[c] * tap
  }
}

/**
 * Impulse responses (one per channel: 4 for foa, 8 for mic) of a set of paths. Delays are measured from
 * `referenceDistance` (the direct path) and offset by RENDER_LATENCY, so the direct sound at the array centre lands
 * exactly on sample RENDER_LATENCY.
 */
export function renderResponses(kind: 'foa' | 'mic', paths: Path[], referenceDistance: number, sampleRate: number): Float32Array[] {
  const samplesPerMetre = sampleRate / SPEED_OF_SOUND
  const delayOf = (distance: number): number => RENDER_LATENCY + (distance - referenceDistance) * samplesPerMetre
  const farthest = paths.reduce((max, p) => Math.max(max, norm(p.position)), 0) + MIC_ARRAY_RADIUS
  const length = Math.ceil(delayOf(farthest)) + HALF_TAPS + 1
  const channels = kind === 'foa' ? 4 : MIC_POSITIONS.length
  const responses = Array.from({length: channels}, () => new Float32Array(length))
  for (const path of paths) {
    const distance = norm(path.position)
    if (kind === 'foa') {
      const direction: Vec3 = [path.position[0] / distance, path.position[1] / distance, path.position[2] / distance]
      addFractionalDelay(responses, foaGains(direction).map((g) => g * path.gain), delayOf(distance))
    } else {
      MIC_POSITIONS.forEach((mic, m) => {
        const toMic = norm([path.position[0] - mic[0], path.position[1] - mic[1], path.position[2] - mic[2]])
        addFractionalDelay([responses[m]], [path.gain], delayOf(toMic))
      })
    }
  }
  return responses
}
