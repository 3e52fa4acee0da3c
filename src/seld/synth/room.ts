import {SPEED_OF_SOUND, type Path, type Vec3} from './spatial.js'

/**
 * Shoebox room acoustics by the image-source method (Allen & Berkley 1979): every wall reflection is replaced by a
 * mirrored copy of the source, attenuated by the wall's pressure reflection coefficient once per reflection and by
 * spherical spreading (1/r, relative to 1 m). All six walls share one coefficient, chosen from the requested RT60 by
 * Eyring's formula. The room spans [0, size] on each axis.
 */

/** Pressure reflection coefficient of the walls of a `size` room whose reverberation time is `rt60` seconds (Eyring). */
export function reflectionCoefficient(size: Vec3, rt60: number): number {
  if (!(rt60 > 0)) throw new Error(`RT60 must be positive, got ${rt60}`)
  const [lx, ly, lz] = size
  const volume = lx * ly * lz
  const surface = 2 * (lx * ly + lx * lz + ly * lz)
  // Eyring: rt60 = 24 ln(10) V / (c S (−ln(1 − α))), and the pressure coefficient is sqrt(1 − α).
  const logEnergy = (-24 * Math.LN10 * volume) / (SPEED_OF_SOUND * surface * rt60)
  return Math.exp(logEnergy / 2)
}

/** Image coordinates along one axis within `reach` of the receiver: offset from the receiver and reflection count. */
function axisImages(length: number, source: number, receiver: number, reach: number): Array<{offset: number; reflections: number}> {
  const images: Array<{offset: number; reflections: number}> = []
  const span = Math.ceil(reach / (2 * length)) + 1
  for (let n = -span; n <= span; n++) {
    for (const parity of [0, 1]) {
      const offset = 2 * n * length + (1 - 2 * parity) * source - receiver
      if (Math.abs(offset) <= reach) images.push({offset, reflections: Math.abs(n) + Math.abs(n - parity)})
    }
  }
  return images
}

/**
 * Paths from `source` to `receiver` (positions in the room) through the walls, for every image source at most
 * `reach` metres from the receiver. Path positions are relative to the receiver, as spatial.ts renders them.
 */
export function imageSources(size: Vec3, source: Vec3, receiver: Vec3, beta: number, reach: number): Path[] {
  for (let axis = 0; axis < 3; axis++) {
    if (!(source[axis] > 0 && source[axis] < size[axis])) throw new Error(`source ${source.join(', ')} is outside the ${size.join(' × ')} m room`)
    if (!(receiver[axis] > 0 && receiver[axis] < size[axis])) throw new Error(`receiver ${receiver.join(', ')} is outside the ${size.join(' × ')} m room`)
  }
  const [xs, ys, zs] = [0, 1, 2].map((axis) => axisImages(size[axis], source[axis], receiver[axis], reach))
  const paths: Path[] = []
  for (const x of xs) {
    for (const y of ys) {
      const planar = x.offset * x.offset + y.offset * y.offset
      if (planar > reach * reach) continue
      for (const z of zs) {
        const distance = Math.sqrt(planar + z.offset * z.offset)
        if (distance > reach) continue
        const gain = beta ** (x.reflections + y.reflections + z.reflections) / Math.max(distance, 0.1)
        paths.push({position: [x.offset, y.offset, z.offset], gain})
      }
    }
  }
  return paths
}
