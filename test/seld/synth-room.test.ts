import {describe, expect, it} from 'vitest'
import {DCASE2016_CLASSES} from '../../src/seld/features/datasets.js'
import {imageSources, reflectionCoefficient} from '../../src/seld/synth/room.js'
import {SPEED_OF_SOUND, renderResponses, type Vec3} from '../../src/seld/synth/spatial.js'
import {createBank, synthesizeRecording, type SynthOptions} from '../../src/seld/synth/synthesize.js'

const FS = 44100

/**
 * Reverberation time from a room impulse response: Schroeder's backward-integrated energy decay, its −5 dB to −25 dB
 * span extrapolated to 60 dB (T20).
 */
function schroederT20(response: Float32Array): number {
  const decay = new Float64Array(response.length)
  let energy = 0
  for (let i = response.length - 1; i >= 0; i--) decay[i] = energy += response[i] * response[i]
  const at = (db: number) => decay.findIndex((e) => 10 * Math.log10(e / decay[0]) <= db)
  return (3 * (at(-25) - at(-5))) / FS
}

/** A hall like the synthesizer's: large enough for sources 10 m away in every direction. */
const HALL: Vec3 = [23.4, 22.1, 19.6]
const RECEIVER: Vec3 = [11.3, 10.9, 9.5]

function response(kind: 'foa' | 'mic', rt60: number, offset: Vec3): Float32Array[] {
  const source: Vec3 = [RECEIVER[0] + offset[0], RECEIVER[1] + offset[1], RECEIVER[2] + offset[2]]
  const distance = Math.hypot(...offset)
  // Kept for 1.5 RT60 so the −25 dB point is well inside the response.
  const paths = imageSources(HALL, source, RECEIVER, reflectionCoefficient(HALL, rt60), distance + 1.5 * SPEED_OF_SOUND * rt60)
  return renderResponses(kind, paths, distance, FS)
}

describe('shoebox image-source room', () => {
  it('decays at the requested RT60 (Schroeder T20 within ±25%)', () => {
    for (const rt60 of [0.3, 0.5, 1.0]) {
      for (const offset of [[3, 2, 1], [-6, 4, -5], [1, -8.5, 4]] as Vec3[]) {
        const [w] = response('foa', rt60, offset)
        const measured = schroederT20(w)
        expect(measured, `RT60 ${rt60} s, source offset ${offset.join(', ')}`).toBeGreaterThan(0.75 * rt60)
        expect(measured, `RT60 ${rt60} s, source offset ${offset.join(', ')}`).toBeLessThan(1.25 * rt60)
      }
      const mic = response('mic', rt60, [2, -3, 1])
      for (const channel of mic) expect(Math.abs(schroederT20(channel) - rt60)).toBeLessThan(0.25 * rt60)
    }
  })

  it('starts with the direct path and the six first-order reflections at their mirror-image delays and gains', () => {
    const source: Vec3 = [14, 12, 11]
    const beta = 0.7
    const paths = imageSources(HALL, source, RECEIVER, beta, 40)
    const direct = paths.find((p) => p.position.every((v, axis) => Math.abs(v - (source[axis] - RECEIVER[axis])) < 1e-9))
    expect(direct?.gain).toBeCloseTo(1 / Math.hypot(14 - 11.3, 12 - 10.9, 11 - 9.5), 12)
    for (let axis = 0; axis < 3; axis++) {
      for (const wall of [0, HALL[axis]]) {
        const mirrored = [...source] as Vec3
        mirrored[axis] = 2 * wall - source[axis]
        const offset = mirrored.map((v, a) => v - RECEIVER[a])
        const image = paths.find((p) => p.position.every((v, a) => Math.abs(v - offset[a]) < 1e-9))
        expect(image, `reflection off wall ${axis}=${wall}`).toBeDefined()
        expect(image?.gain).toBeCloseTo(beta / Math.hypot(...offset), 12)
      }
    }
    expect(() => imageSources(HALL, [30, 1, 1], RECEIVER, beta, 40)).toThrow(/outside the 23.4 × 22.1 × 19.6 m room/)
    expect(() => reflectionCoefficient(HALL, 0)).toThrow(/RT60 must be positive/)
  })

  it('makes reverberant recordings ring on after each event where the anechoic ones fall to the noise floor', () => {
    const options = (room: 'anechoic' | 'reverberant'): SynthOptions => ({
      kind: 'foa', room, classes: Object.keys(DCASE2016_CLASSES), sampleRate: FS, ov: 1, split: 1, trainFiles: 1, testFiles: 0,
      duration: 10, seed: 3, rt60: 0.8, shiftTestDoa: false,
    })
    const id = {name: 'train_000', set: 'train' as const, index: 0}
    const dry = synthesizeRecording(options('anechoic'), createBank(options('anechoic')), id)
    const wet = synthesizeRecording(options('reverberant'), createBank(options('reverberant')), id)
    expect(wet.events).toEqual(dry.events)
    const tailEnergy = (channels: Float32Array[], from: number) => {
      let sum = 0
      for (let i = from; i < from + 0.1 * FS; i++) sum += channels[0][i] ** 2
      return sum
    }
    const ringing = dry.events.filter((e) => tailEnergy(wet.channels, e.start + e.length + 0.05 * FS) > 3 * tailEnergy(dry.channels, e.start + e.length + 0.05 * FS))
    expect(ringing.length).toBeGreaterThan(dry.events.length / 2)
  })
})
