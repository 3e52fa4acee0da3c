import {convolveAdd} from './convolve.js'
import {imageSources} from './room.js'
import type {SceneEvent} from './scene.js'
import {RENDER_LATENCY, SPEED_OF_SOUND, renderResponses, type Path, type Vec3} from './spatial.js'
import {directionAt, unitVector} from '../features/trajectories.js'

/**
 * Rendering of a source moving along its great circle, by short overlapping blocks: the dry sound is cut into blocks
 * under periodic Hann windows at 50% overlap (which sum to one, so each block crossfades into the next), and each
 * block is rendered from where the source is at the block's centre.
 *
 * - Direct sound: DIRECT_BLOCK-sample blocks. Ambisonics thus gets encoding gains that glide from block to block;
 *   the array gets fractional delays that change from block to block.
 * - Early reflections (reverberant room): the image sources within EARLY_SECONDS after the direct sound, of the
 *   source's position at the centre of each longer REFLECTION_BLOCK, without the direct path.
 * - Late reverberation: the image sources beyond that, from the source's position halfway through the event, applied
 *   to the whole event at once. The late field arrives from all directions and smears over the RT60, so it hardly
 *   depends on where the source is (an approximation of time-varying images that keeps the cost near that of a still
 *   source).
 */

/** About 23 ms at 44.1 kHz: at 40 °/s the source turns under 1° within a block. */
const DIRECT_BLOCK = 1024
/** About 190 ms at 44.1 kHz. */
const REFLECTION_BLOCK = 8192
/** Reflections arriving within this time after the direct sound follow the motion block by block. */
const EARLY_SECONDS = 0.08

/** The shoebox a reverberant recording is rendered in (see synthesize.ts). */
export interface RoomGeometry {
  size: Vec3
  receiver: Vec3
  beta: number
  rt60: number
}

/** Calls `render(windowedBlock, firstSample, centreSample)` for every block covering the signal. */
function forEachBlock(dry: Float32Array, size: number, render: (block: Float32Array, first: number, centre: number) => void): void {
  const hop = size / 2
  const window = Float32Array.from({length: size}, (_, n) => Math.sin((Math.PI * n) / size) ** 2)
  for (let first = -hop; first < dry.length; first += hop) {
    const block = new Float32Array(size)
    let energy = 0
    for (let n = 0; n < size; n++) {
      const i = first + n
      if (i >= 0 && i < dry.length) {
        block[n] = dry[i] * window[n]
        energy += block[n] * block[n]
      }
    }
    if (energy > 0) render(block, first, first + hop)
  }
}

/** Offset from the receiver of the source `sample` samples after the event's start. */
function positionAt(event: SceneEvent, sample: number, sampleRate: number): Vec3 {
  const {azimuth, elevation} = directionAt(event.azimuth, event.elevation, event.motion, Math.max(0, sample) / sampleRate)
  return unitVector(azimuth, elevation).map((v) => v * event.distance) as Vec3
}

/**
 * Adds `gain` times the moving event's sound, as `kind` receives it, into `channels` (direct sound at the array
 * centre aligned with the event's start sample, as for still sources).
 */
export function renderMovingEvent(kind: 'foa' | 'mic', event: SceneEvent, dry: Float32Array, channels: Float32Array[], sampleRate: number,
  gain: number, room?: RoomGeometry): void {
  forEachBlock(dry, DIRECT_BLOCK, (block, first, centre) => {
    const position = positionAt(event, centre, sampleRate)
    const direct: Path[] = [{position, gain: 1 / event.distance}]
    convolveAdd(block, renderResponses(kind, direct, event.distance, sampleRate), channels, event.start + first - RENDER_LATENCY, gain)
  })
  if (!room) return
  const {size, receiver, beta, rt60} = room
  const early = event.distance + SPEED_OF_SOUND * EARLY_SECONDS
  const imagesAt = (offset: Vec3, reach: number): Path[] =>
    imageSources(size, [receiver[0] + offset[0], receiver[1] + offset[1], receiver[2] + offset[2]], receiver, beta, reach)
  forEachBlock(dry, REFLECTION_BLOCK, (block, first, centre) => {
    const offset = positionAt(event, centre, sampleRate)
    const reflections = imagesAt(offset, early).filter((p) => distance(p.position, offset) > 1e-9)
    convolveAdd(block, renderResponses(kind, reflections, event.distance, sampleRate), channels, event.start + first - RENDER_LATENCY, gain)
  })
  const late = imagesAt(positionAt(event, dry.length / 2, sampleRate), event.distance + SPEED_OF_SOUND * rt60)
    .filter((p) => Math.hypot(...p.position) > early)
  if (late.length > 0) convolveAdd(dry, renderResponses(kind, late, event.distance, sampleRate), channels, event.start - RENDER_LATENCY, gain)
}

function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])
}
