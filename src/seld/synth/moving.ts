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
 * - Reflections (reverberant room): the image sources of the source's position at the centre of each longer
 *   REFLECTION_BLOCK, without the direct path. Reflections arrive from many directions and smear over the RT60, so
 *   they follow the motion more coarsely than the direct sound (a documented approximation of per-sample images).
 */

/** About 23 ms at 44.1 kHz: at 40 °/s the source turns under 1° within a block. */
const DIRECT_BLOCK = 1024
/** About 190 ms at 44.1 kHz. */
const REFLECTION_BLOCK = 8192

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
  forEachBlock(dry, REFLECTION_BLOCK, (block, first, centre) => {
    const offset = positionAt(event, centre, sampleRate)
    const source: Vec3 = [receiver[0] + offset[0], receiver[1] + offset[1], receiver[2] + offset[2]]
    const paths = imageSources(size, source, receiver, beta, event.distance + SPEED_OF_SOUND * rt60)
    const reflections = paths.filter((p) => Math.hypot(p.position[0] - offset[0], p.position[1] - offset[1], p.position[2] - offset[2]) > 1e-9)
    convolveAdd(block, renderResponses(kind, reflections, event.distance, sampleRate), channels, event.start + first - RENDER_LATENCY, gain)
  })
}
