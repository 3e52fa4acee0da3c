import {describe, expect, it} from 'vitest'
import {convolveMany} from '../../src/seld/synth/convolve.js'
import {DCASE2016_CLASSES} from '../../src/seld/features/datasets.js'
import {Random} from '../../src/seld/synth/random.js'
import {AZIMUTHS, ELEVATIONS} from '../../src/seld/synth/scene.js'
import {MIC_POSITIONS, SPEED_OF_SOUND, renderResponses, unitVector, RENDER_LATENCY, type Vec3} from '../../src/seld/synth/spatial.js'
import {createBank, synthesizeRecording, type SynthOptions} from '../../src/seld/synth/synthesize.js'
import {floatToPcm16} from '../../src/seld/io/wav.js'
import {angleBetween, arrayDirection, azimuthDifference, foaIntensityDirection} from './doa-estimators.js'

const FS = 44100

function noise(seconds: number, seed: number): Float32Array {
  const rng = Random.from('doa-test', seed)
  return Float32Array.from({length: Math.round(seconds * FS)}, () => rng.normal() * 0.1)
}

/** A single source in free field, as the anechoic synthesizer renders it. */
function render(kind: 'foa' | 'mic', azimuth: number, elevation: number, distance: number, dry: Float32Array): Float32Array[] {
  const position = unitVector(azimuth, elevation).map((v) => v * distance) as Vec3
  return convolveMany(dry, renderResponses(kind, [{position, gain: 1 / distance}], distance, FS))
}

/** Channels after the 16-bit round trip the WAV files go through. */
function quantized(channels: Float32Array[]): Float32Array[] {
  const pcm = floatToPcm16(channels, FS)
  return channels.map((_, c) => Float32Array.from({length: channels[0].length}, (_, i) => pcm.samples[i * channels.length + c] / 32768))
}

function anechoicRecording(kind: 'foa' | 'mic', index: number) {
  const options: SynthOptions = {
    kind, room: 'anechoic', classes: Object.keys(DCASE2016_CLASSES), sampleRate: FS, ov: 1, split: 1, trainFiles: 1, testFiles: 0,
    duration: 12, seed: 7, rt60: 0.4, shiftTestDoa: false,
  }
  const recording = synthesizeRecording(options, createBank(options), {name: 'train_000', set: 'train', index})
  return {events: recording.events, channels: quantized(recording.channels)}
}

describe('FOA plane-wave encoding (ACN W, Y, Z, X; SN3D)', () => {
  it('lets the active-intensity vector recover every grid direction within 3°', () => {
    const dry = noise(0.3, 1)
    let worst = 0
    for (const azimuth of AZIMUTHS) {
      for (const elevation of ELEVATIONS) {
        const channels = render('foa', azimuth, elevation, 2.5, dry)
        const estimate = foaIntensityDirection(channels, 0, channels[0].length)
        worst = Math.max(worst, angleBetween(estimate, {azimuth, elevation}))
      }
    }
    expect(worst).toBeLessThan(3)
  })

  it('puts every event of a synthesized anechoic recording where its description says, within 3°', () => {
    const {events, channels} = anechoicRecording('foa', 0)
    expect(events.length).toBeGreaterThan(3)
    for (const event of events) {
      const estimate = foaIntensityDirection(channels, event.start, event.start + event.length)
      expect(angleBetween(estimate, event), `${event.className}${event.number} at ${event.azimuth}°, ${event.elevation}°`).toBeLessThan(3)
    }
  })
})

describe('8-microphone circular array (radius 5 cm) with fractional-delay propagation', () => {
  it('has the documented geometry: mic m at azimuth 45°·m on a horizontal 5 cm circle, counter-clockwise from the front', () => {
    expect(MIC_POSITIONS).toHaveLength(8)
    MIC_POSITIONS.forEach(([x, y, z], m) => {
      expect(Math.hypot(x, y)).toBeCloseTo(0.05, 12)
      expect(z).toBe(0)
      expect(Math.atan2(y, x) * (180 / Math.PI)).toBeCloseTo(m <= 4 ? 45 * m : 45 * m - 360, 9)
    })
  })

  it('lets GCC-PHAT delays recover the azimuth within 3° at every grid elevation, and |elevation| off the horizon', () => {
    const size = 8192
    const dry = noise(size / FS + 0.01, 2)
    const rng = Random.from('doa-test', 'directions')
    for (const elevation of ELEVATIONS) {
      for (let k = 0; k < 3; k++) {
        const azimuth = rng.pick(AZIMUTHS)
        const distance = rng.uniform(1, 10)
        // Silence first: the estimator's (empty) noise reference.
        const channels = render('mic', azimuth, elevation, distance, dry).map((c) => {
          const padded = new Float32Array(size + c.length)
          padded.set(c, size)
          return padded
        })
        const estimate = arrayDirection(channels, MIC_POSITIONS, size + RENDER_LATENCY, 2 * size + RENDER_LATENCY, 0, size, FS, SPEED_OF_SOUND)
        const where = `source at ${azimuth}°, ${elevation}°, ${distance.toFixed(1)} m`
        expect(azimuthDifference(estimate.azimuth, azimuth), where).toBeLessThan(3)
        // At the horizon the delays change with cos(elevation) only to second order: a few degrees is all it gives.
        expect(Math.abs(estimate.elevation - Math.abs(elevation)), where).toBeLessThan(elevation === 0 ? 6 : 3)
      }
    }
  })

  it('cannot tell a source above the array from its mirror image below (planar array)', () => {
    const dry = noise(0.05, 3)
    const above = render('mic', 40, 30, 3, dry)
    const below = render('mic', 40, -30, 3, dry)
    expect(below).toEqual(above)
    // …while the horizontal direction does change the signals.
    expect(render('mic', 50, 30, 3, dry)).not.toEqual(above)
  })

  it('puts every event of a synthesized anechoic recording at its described azimuth within 3° (and |elevation| off the horizon)', () => {
    let checked = 0
    for (const index of [0, 1, 2]) {
      const {events, channels} = anechoicRecording('mic', index)
      // The recording opens with ambient noise only: the estimator's noise reference.
      expect(events[0].start).toBeGreaterThan(0.1 * FS)
      for (const event of events) {
        const estimate = arrayDirection(channels, MIC_POSITIONS, event.start, event.start + event.length, 0, events[0].start, FS, SPEED_OF_SOUND)
        const where = `${event.className}${event.number} at ${event.azimuth}°, ${event.elevation}°, ${event.distance} m`
        expect(azimuthDifference(estimate.azimuth, event.azimuth), where).toBeLessThan(3)
        if (event.elevation !== 0) expect(Math.abs(estimate.elevation - Math.abs(event.elevation)), where).toBeLessThan(3)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(10)
  })
})
