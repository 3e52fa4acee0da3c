import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {datasetSpec, DCASE2016_CLASSES, URBANSOUND_CLASSES} from '../../src/seld/features/datasets.js'
import {labelGrid, labelMatrix, parseDescCsv, recordingClassOf} from '../../src/seld/features/labels.js'
import {
  directionAt, greatCircleAxis, interpolate, linspace, publishedTrajectory, rotateAbout, unitVector, wrapTo180,
} from '../../src/seld/features/trajectories.js'
import {readNpy, type NdArray} from '../../src/seld/io/npy.js'
import {conformanceFiles, readConformance, repoRoot, type LabelsVector} from '../conformance.js'
import {angleBetween} from './doa-estimators.js'

interface MovingLabelsCase extends LabelsVector {
  dataset: 'mansim' | 'mreal'
}

const files = conformanceFiles('labels_moving_')

/** Largest differences of a label matrix from a vector: activity, and direction in degrees. */
function differences(label: NdArray, vector: MovingLabelsCase): {activity: number; degrees: number} {
  const [frames, width] = label.shape
  const K = width / 3
  expect(frames).toBe(vector.nb_frames)
  let activity = 0
  let degrees = 0
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < K; k++) {
      activity = Math.max(activity, Math.abs(label.data[f * width + k] - vector.expected_sed[f][k]))
      // The label is float32: compare within its resolution plus the tolerance.
      for (const column of [k, K + k]) {
        const expected = vector.expected_doa_deg[f][column]
        degrees = Math.max(degrees, Math.abs(label.data[f * width + K + column] - expected) - Math.abs(expected) * 2 ** -24)
      }
    }
  }
  return {activity, degrees}
}

describe('published moving-source labels (MANSIM, MREAL)', () => {
  it('has the four vectors', () => {
    expect(files).toEqual([
      'labels_moving_a_mansim_nfft1024.json', 'labels_moving_a_mansim_nfft512.json',
      'labels_moving_a_mreal_nfft1024.json', 'labels_moving_a_mreal_nfft512.json',
    ])
  })

  for (const file of files) {
    it(`reproduces ${file}: activity exact, trajectories within 1e-4°`, () => {
      const vector = readConformance<MovingLabelsCase>(file)
      const dataset = datasetSpec(vector.dataset)
      expect(vector.class_index).toEqual(dataset.classIndex)
      const events = parseDescCsv(vector.desc_csv, file, dataset.classIndex, recordingClassOf(dataset))
      expect(events.every((event) => event.motion?.kind === (vector.dataset === 'mansim' ? 'great-circle' : 'azimuth-ramp'))).toBe(true)
      const {activity, degrees} = differences(labelMatrix(events, labelGrid(dataset, vector.nfft)), vector)
      expect(activity).toBe(0)
      expect(degrees).toBeLessThan(1e-4)
      // The sources do move: a static reading of the same rows is far off.
      const still = events.map(({motion: _, ...event}) => event)
      expect(differences(labelMatrix(still, labelGrid(dataset, vector.nfft)), vector).degrees).toBeGreaterThan(10)
    })
  }
})

describe('parseDescCsv with moving-source columns', () => {
  const MANSIM = 'sound_event_recording,start_time,end_time,ele,azi,ele_dir,azi_dir,ang_vel,dist'
  const MREAL = 'sound_event_recording,start_time,end_time,ele,azi,ang_vel,dist'

  it('reads a MANSIM row as a great circle and an MREAL row (UrbanSound8K names) as an azimuth ramp', () => {
    expect(parseDescCsv(`${MANSIM}\nknock001.wav,1,2,10,170,20,200,40,3.5\n`, 'm.csv', DCASE2016_CLASSES)[0].motion)
      .toEqual({kind: 'great-circle', azimuthTowards: 200, elevationTowards: 20, angularVelocity: 40})
    const [event] = parseDescCsv(`${MREAL}\n31561-4-0-5.wav,0.3,2.6,10,-50,-40,1.3\n`, 'r.csv', URBANSOUND_CLASSES, recordingClassOf(datasetSpec('mreal')))
    expect(event).toMatchObject({className: '4', classColumn: 2, motion: {kind: 'azimuth-ramp', angularVelocity: -40}})
  })

  it('names file and line of a bad moving-source row or header', () => {
    expect(() => parseDescCsv(`${MANSIM}\nknock001.wav,1,2,10,170,20,200,fast,3.5\n`, 'm.csv', DCASE2016_CLASSES)).toThrow("m.csv:2: ang_vel 'fast' is not a number")
    expect(() => parseDescCsv(`${MANSIM}\nknock001.wav,1,2,10,170,95,200,40,3.5\n`, 'm.csv', DCASE2016_CLASSES)).toThrow('m.csv:2: ele_dir 95 is outside -90 … 90')
    expect(() => parseDescCsv('sound_event_recording,start_time,end_time,ele,azi,azi_dir,dist\nknock001.wav,1,2,10,170,20,3\n', 'h.csv', DCASE2016_CLASSES))
      .toThrow("h.csv:1: missing column 'ele_dir'")
  })
})

describe('trajectories', () => {
  it('turns the start direction on the great circle towards the target at the stated speed', () => {
    const motion = {kind: 'great-circle', azimuthTowards: 60, elevationTowards: 0, angularVelocity: 20} as const
    // Along the horizon, 20°/s for 1.5 s is 30° of azimuth.
    expect(directionAt(0, 0, motion, 1.5).azimuth).toBeCloseTo(30, 10)
    // Off the horizon the path is a great circle: its angle from the start grows at the stated speed all the same.
    const tilted = {kind: 'great-circle', azimuthTowards: 100, elevationTowards: 40, angularVelocity: 10} as const
    for (const seconds of [0.5, 2, 7]) {
      expect(angleBetween(directionAt(20, -10, tilted, seconds), {azimuth: 20, elevation: -10})).toBeCloseTo(10 * seconds, 8)
    }
    // Through the target, and on past it.
    const towards = {azimuth: 100, elevation: 40}
    const reach = angleBetween({azimuth: 20, elevation: -10}, towards)
    // (acos near 1 resolves about 1e-6°.)
    expect(angleBetween(directionAt(20, -10, tilted, reach / 10), towards)).toBeLessThan(1e-5)
    expect(directionAt(20, -10, {kind: 'great-circle', azimuthTowards: 20, elevationTowards: -10, angularVelocity: 10}, 3)).toEqual({azimuth: 20, elevation: -10})
  })

  it('keeps a vector on the sphere under rotation and finds no axis between parallel directions', () => {
    const start = unitVector(30, 20)
    expect(greatCircleAxis(start, unitVector(30, 20))).toBeUndefined()
    expect(greatCircleAxis(start, unitVector(-150, -20))).toBeUndefined()
    const axis = greatCircleAxis(start, unitVector(80, 0))!
    expect(Math.hypot(...rotateAbout(start, axis, 2.1))).toBeCloseTo(1, 12)
  })

  it('ramps an MREAL azimuth through ±180° with floor and wrap, elevation fixed', () => {
    const ramp = publishedTrajectory(170, 10, {kind: 'azimuth-ramp', angularVelocity: 20}, 5, 2)
    // 5 frames at 2 per second: linspace(170, 220, 5) = 170, 182.5, 195, 207.5, 220.
    expect(Array.from(ramp.azimuth).map((a) => Math.round(a * 1e9) / 1e9)).toEqual([170, -178, -165, -153, -140])
    expect(Array.from(ramp.elevation)).toEqual([10, 10, 10, 10, 10])
    expect(wrapTo180(-190)).toBeCloseTo(170, 10)
    expect(wrapTo180(180)).toBeCloseTo(180, 10)
  })

  it('samples like numpy: linspace ends exactly, interp clamps and interpolates', () => {
    expect(Array.from(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1])
    expect(Array.from(linspace(3, 3, 1))).toEqual([3])
    const xp = Float64Array.from([0, 1, 2])
    const fp = Float64Array.from([10, 20, 40])
    expect(Array.from(interpolate(Float64Array.from([-1, 0.5, 1.5, 2, 3]), xp, fp))).toEqual([10, 15, 30, 40, 40])
  })
})

describe('seldpipe labels --dataset mansim|mreal', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'seld-labels-moving-'))
  afterAll(() => rmSync(work, {recursive: true, force: true}))

  for (const file of files) {
    it(`writes the labels of ${file}`, () => {
      const vector = readConformance<MovingLabelsCase>(file)
      const csv = path.join(work, `${vector.dataset}-${vector.nfft}.csv`)
      const out = path.join(work, `${vector.dataset}-${vector.nfft}.npy`)
      writeFileSync(csv, vector.desc_csv)
      const run = spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'labels', csv, '--dataset', vector.dataset, '--nfft', String(vector.nfft), '--out', out], {encoding: 'utf8'})
      expect(run.stderr).toBe('')
      expect(run.status).toBe(0)
      const {activity, degrees} = differences(readNpy(out), vector)
      expect(activity).toBe(0)
      expect(degrees).toBeLessThan(1e-4)
    })
  }
})
