/**
 * Moving point sources as the MANSIM and MREAL descriptions state them, and the per-frame trajectories the later
 * published SELDnet label code makes of them.
 *
 * - great-circle (MANSIM): the source starts at (azimuth, elevation) and turns at `angularVelocity` °/s on the great
 *   circle towards (azimuthTowards, elevationTowards), i.e. about the normalised cross product of the two unit vectors.
 * - azimuth-ramp (MREAL): the azimuth grows at `angularVelocity` °/s (signed), the elevation stays.
 */

export type Vec3 = [number, number, number]

export type Motion =
  | {kind: 'great-circle'; azimuthTowards: number; elevationTowards: number; angularVelocity: number}
  | {kind: 'azimuth-ramp'; angularVelocity: number}

export interface Trajectory {
  /** Degrees, one value per frame. */
  azimuth: Float64Array
  elevation: Float64Array
}

const RADIANS = Math.PI / 180

/** Unit vector of a direction in degrees (x front, y left, z up; the labels' convention). */
export function unitVector(azimuthDeg: number, elevationDeg: number): Vec3 {
  const azi = (azimuthDeg * Math.PI) / 180
  const ele = (elevationDeg * Math.PI) / 180
  return [Math.cos(ele) * Math.cos(azi), Math.cos(ele) * Math.sin(azi), Math.sin(ele)]
}

/** Azimuth (−180 … 180] and elevation of a vector, degrees. */
export function vectorDirection(v: Vec3): {azimuth: number; elevation: number} {
  return {azimuth: Math.atan2(v[1], v[0]) / RADIANS, elevation: Math.atan2(v[2], Math.hypot(v[0], v[1])) / RADIANS}
}

/**
 * Rotation axis of the great circle from `start` towards `towards`, or undefined when the two are parallel or
 * opposite (no single great circle joins them, and the source keeps its direction).
 */
export function greatCircleAxis(start: Vec3, towards: Vec3): Vec3 | undefined {
  const cross: Vec3 = [
    start[1] * towards[2] - start[2] * towards[1],
    start[2] * towards[0] - start[0] * towards[2],
    start[0] * towards[1] - start[1] * towards[0],
  ]
  const length = Math.hypot(...cross)
  if (!(length > 1e-12)) return undefined
  return [cross[0] / length, cross[1] / length, cross[2] / length]
}

/** `v` rotated by `angle` radians about the unit `axis` (Rodrigues' rotation formula). */
export function rotateAbout(v: Vec3, axis: Vec3, angle: number): Vec3 {
  const [ux, uy, uz] = axis
  const c = Math.cos(angle)
  const s = Math.sin(angle)
  const dot = (ux * v[0] + uy * v[1] + uz * v[2]) * (1 - c)
  return [
    v[0] * c + s * (uy * v[2] - uz * v[1]) + ux * dot,
    v[1] * c + s * (uz * v[0] - ux * v[2]) + uy * dot,
    v[2] * c + s * (ux * v[1] - uy * v[0]) + uz * dot,
  ]
}

/** Direction `seconds` after the start of a source moving as `motion` states (the continuous motion, as rendered). */
export function directionAt(azimuth: number, elevation: number, motion: Motion | undefined, seconds: number): {azimuth: number; elevation: number} {
  if (!motion) return {azimuth, elevation}
  if (motion.kind === 'azimuth-ramp') return {azimuth: wrapTo180(azimuth + motion.angularVelocity * seconds), elevation}
  const start = unitVector(azimuth, elevation)
  const axis = greatCircleAxis(start, unitVector(motion.azimuthTowards, motion.elevationTowards))
  if (!axis) return {azimuth, elevation}
  return vectorDirection(rotateAbout(start, axis, motion.angularVelocity * RADIANS * seconds))
}

/** numpy's linspace(start, stop, count): start + i·step, the last value exactly `stop`. */
export function linspace(start: number, stop: number, count: number): Float64Array {
  const out = new Float64Array(Math.max(0, count))
  if (count <= 0) return out
  if (count === 1) {
    out[0] = start
    return out
  }
  const step = (stop - start) / (count - 1)
  for (let i = 0; i < count; i++) out[i] = step === 0 ? ((i / (count - 1)) * (stop - start)) + start : i * step + start
  out[count - 1] = stop
  return out
}

/** numpy's interp(x, xp, fp) for increasing xp: linear between samples, clamped to the ends. */
export function interpolate(x: Float64Array, xp: Float64Array, fp: Float64Array): Float64Array {
  const out = new Float64Array(x.length)
  const last = xp.length - 1
  let j = 0
  for (let i = 0; i < x.length; i++) {
    const at = x[i]
    if (at <= xp[0]) out[i] = fp[0]
    else if (at >= xp[last]) out[i] = fp[last]
    else {
      while (xp[j + 1] <= at) j++
      const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
      out[i] = slope * (at - xp[j]) + fp[j]
    }
  }
  return out
}

/** Degrees wrapped as the published code wraps them (through radians, to (−180, 180]). */
export function wrapTo180(degrees: number): number {
  const radians = (degrees * Math.PI) / 180
  const TWO_PI = 2 * Math.PI
  let wrapped = radians - TWO_PI * Math.floor(radians / TWO_PI)
  if (Math.abs(wrapped) > Math.PI) wrapped -= TWO_PI * Math.sign(wrapped)
  return (wrapped * 180) / Math.PI
}

/** Rate, per second, of the published code's MANSIM trajectory samples (one per 441 samples at 44.1 kHz). */
export const TRAJECTORY_RATE = 100

/**
 * The published per-frame trajectory of an event covering `frames` label frames at `framesPerSecond`:
 * - great-circle: the start vector rotated at 100 Hz for ceil(frames / framesPerSecond · 100) steps, converted to
 *   degrees, then each angle linearly interpolated onto the frames (so an azimuth crossing ±180° passes through the
 *   values in between, as in the published labels);
 * - azimuth-ramp: floor(linspace(azimuth, azimuth + velocity · frames / framesPerSecond, frames)), wrapped.
 */
export function publishedTrajectory(azimuth: number, elevation: number, motion: Motion, frames: number, framesPerSecond: number): Trajectory {
  const seconds = frames / framesPerSecond
  if (motion.kind === 'azimuth-ramp') {
    const ramp = linspace(azimuth, azimuth + motion.angularVelocity * seconds, frames)
    return {azimuth: ramp.map((value) => wrapTo180(Math.floor(value))), elevation: new Float64Array(frames).fill(elevation)}
  }
  const start = unitVector(azimuth, elevation)
  const axis = greatCircleAxis(start, unitVector(motion.azimuthTowards, motion.elevationTowards))
  if (!axis) return {azimuth: new Float64Array(frames).fill(azimuth), elevation: new Float64Array(frames).fill(elevation)}
  const steps = Math.ceil(seconds * TRAJECTORY_RATE)
  const perStep = (motion.angularVelocity * RADIANS) / TRAJECTORY_RATE
  const sampledAzimuth = new Float64Array(steps)
  const sampledElevation = new Float64Array(steps)
  for (let step = 0; step < steps; step++) {
    const direction = vectorDirection(rotateAbout(start, axis, step * perStep))
    sampledAzimuth[step] = direction.azimuth
    sampledElevation[step] = direction.elevation
  }
  const sampleTimes = linspace(0, 1, steps)
  const frameTimes = linspace(0, 1, frames)
  return {azimuth: interpolate(frameTimes, sampleTimes, sampledAzimuth), elevation: interpolate(frameTimes, sampleTimes, sampledElevation)}
}
