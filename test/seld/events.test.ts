import {describe, expect, it} from 'vitest'
import {splitTargets} from '../../src/seld/train/recordings.js'
import {classNames, datasetSpec} from '../../src/seld/features/datasets.js'
import {labelGrid, labelMatrix, labelToTargets, parseDescCsv, type DescEvent} from '../../src/seld/features/labels.js'
import {
  angleBetween, CSV_HEADER, eventEnds, eventTrack, eventsToCsv, scoreEvents, type SoundEvent, eventsToDcase, eventsToJson, framesToEvents, meanDirection, type EventOptions, type FramePredictions,
} from '../../src/seld/predict/events.js'
import {readConformance} from '../conformance.js'

const NAMES = ['knock', 'speech']
// 10 ms frames make expected times easy to read: frame i starts at i / 100 s.
const FRAME = 0.01
const OPTIONS: EventOptions = {threshold: 0.5, maxGapSeconds: 0.05, minDurationSeconds: 0.05}

/** Frames × 2 classes, 3-D DOA; `set(frame, class, activity, [x, y, z])` fills one cell. */
function predictions(frames: number, components: 2 | 3 = 3) {
  const p: FramePredictions = {
    frames, classes: 2, frameSeconds: FRAME,
    sed: new Float32Array(frames * 2), doa: new Float32Array(frames * 2 * components),
  }
  const set = (from: number, to: number, k: number, activity: number, xyz: number[]) => {
    for (let f = from; f <= to; f++) {
      p.sed[f * 2 + k] = activity
      xyz.slice(0, components).forEach((v, c) => (p.doa[f * 2 * components + c * 2 + k] = v))
    }
  }
  return {p, set}
}

describe('framesToEvents', () => {
  it('merges consecutive active frames into one event with exact onset, offset and mean activity', () => {
    const {p, set} = predictions(100)
    set(10, 29, 0, 0.8, [1, 0, 0])
    set(20, 29, 0, 0.6, [1, 0, 0])
    const [event, ...rest] = framesToEvents(p, NAMES, OPTIONS)
    expect(rest).toEqual([])
    expect(event).toMatchObject({className: 'knock', classIndex: 0, firstFrame: 10, lastFrame: 29})
    expect(event.onset).toBeCloseTo(0.1, 12)
    expect(event.offset).toBeCloseTo(0.29, 12)
    expect(event.confidence).toBeCloseTo((10 * 0.8 + 10 * 0.6) / 20, 6)
    expect(event.azimuth).toBeCloseTo(0, 9)
    expect(event.elevation).toBeCloseTo(0, 9)
  })

  it('takes azimuth and elevation from the mean DOA vector, not the mean of angles', () => {
    const {p, set} = predictions(40)
    // Half the frames point to +y, half to −x: the mean vector points to 135°. (Mean angles would give 135° here
    // too, so the second class checks wrap-around: 170° and −170° average to 180°, not 0°.)
    set(0, 9, 0, 0.9, [0, 1, 0])
    set(10, 19, 0, 0.9, [-1, 0, 0])
    const c = (deg: number) => Math.cos((deg * Math.PI) / 180)
    const s = (deg: number) => Math.sin((deg * Math.PI) / 180)
    set(0, 9, 1, 0.9, [c(170), s(170), 0])
    set(10, 19, 1, 0.9, [c(-170), s(-170), 0])
    const [knock, speech] = framesToEvents(p, NAMES, OPTIONS)
    expect(knock.azimuth).toBeCloseTo(135, 4)
    expect(Math.abs(speech.azimuth)).toBeCloseTo(180, 4)
    expect(speech.elevation).toBeCloseTo(0, 4)
  })

  it('gives elevation from z against the horizontal length of the mean vector', () => {
    const {p, set} = predictions(20)
    set(0, 9, 1, 0.7, [0, 0.5, 0.5])
    const [event] = framesToEvents(p, NAMES, OPTIONS)
    expect(event.azimuth).toBeCloseTo(90, 4)
    expect(event.elevation).toBeCloseTo(45, 4)
    expect(meanDirection(p, 1, 0, 9)).toEqual({azimuth: event.azimuth, elevation: event.elevation})
  })

  it('reads azimuth-only predictions (x, y per class) with elevation 0', () => {
    const {p, set} = predictions(20, 2)
    set(0, 9, 0, 0.7, [-1, -1])
    const [event] = framesToEvents(p, NAMES, OPTIONS)
    expect(event.azimuth).toBeCloseTo(-135, 4)
    expect(event.elevation).toBe(0)
  })

  it('thresholds strictly: an activity equal to the threshold is inactive', () => {
    const {p, set} = predictions(30)
    set(0, 19, 0, 0.5, [1, 0, 0])
    expect(framesToEvents(p, NAMES, OPTIONS)).toEqual([])
    expect(framesToEvents(p, NAMES, {...OPTIONS, threshold: 0.4})).toHaveLength(1)
  })

  it('bridges gaps up to maxGapSeconds and splits longer ones; the bridged frames count in the mean activity', () => {
    const {p, set} = predictions(200)
    set(10, 29, 0, 0.9, [1, 0, 0])
    set(30, 34, 0, 0.2, [1, 0, 0]) // 5 frames = 0.05 s below threshold: bridged
    set(35, 54, 0, 0.9, [1, 0, 0])
    set(100, 119, 0, 0.9, [1, 0, 0])
    set(120, 125, 0, 0.1, [1, 0, 0]) // 6 frames = 0.06 s: split
    set(126, 145, 0, 0.9, [1, 0, 0])
    const events = framesToEvents(p, NAMES, OPTIONS)
    expect(events.map((e) => [e.firstFrame, e.lastFrame])).toEqual([[10, 54], [100, 119], [126, 145]])
    expect(events[0].confidence).toBeCloseTo((40 * 0.9 + 5 * 0.2) / 45, 6)
  })

  it('drops blips shorter than minDurationSeconds and keeps events of exactly that length', () => {
    const {p, set} = predictions(100)
    set(10, 14, 0, 0.9, [1, 0, 0]) // frames 10..14: 0.04 s
    set(50, 55, 1, 0.9, [1, 0, 0]) // frames 50..55: 0.05 s
    const events = framesToEvents(p, NAMES, OPTIONS)
    expect(events.map((e) => [e.className, e.firstFrame, e.lastFrame])).toEqual([['speech', 50, 55]])
  })

  it('sorts events by onset across classes', () => {
    const {p, set} = predictions(100)
    set(40, 60, 0, 0.9, [1, 0, 0])
    set(5, 30, 1, 0.9, [1, 0, 0])
    set(70, 90, 1, 0.9, [1, 0, 0])
    expect(framesToEvents(p, NAMES, OPTIONS).map((e) => [e.className, e.firstFrame])).toEqual([['speech', 5], ['knock', 40], ['speech', 70]])
  })

  it('closes an event that lasts to the last frame', () => {
    const {p, set} = predictions(50)
    set(40, 49, 1, 0.9, [1, 0, 0])
    expect(framesToEvents(p, NAMES, OPTIONS).map((e) => [e.firstFrame, e.lastFrame])).toEqual([[40, 49]])
  })

  it('refuses arrays that do not match the declared shape, and class names that do not match the model', () => {
    const {p} = predictions(10)
    expect(() => framesToEvents({...p, doa: new Float32Array(10 * 2 * 4)}, NAMES)).toThrow(/DOA holds 80 values/)
    expect(() => framesToEvents({...p, sed: new Float32Array(7)}, NAMES)).toThrow(/SED holds 7 values/)
    expect(() => framesToEvents(p, ['knock'])).toThrow(/1 class names for a model of 2 classes/)
  })
})

describe('events from the network targets of a description file', () => {
  it('give back every annotated event: class, times within one hop, direction within a degree', () => {
    // The published labels' own description file; its targets are what a perfect network would output.
    const vector = readConformance<{nfft: number; desc_csv: string}>('labels_a_nfft512.json')
    const dataset = datasetSpec('ansim')
    const grid = labelGrid(dataset, vector.nfft)
    const annotated = parseDescCsv(vector.desc_csv, 'labels_a_nfft512.json', dataset.classIndex)
    const targets = labelToTargets(labelMatrix(annotated, grid))
    const p: FramePredictions = {
      frames: grid.frames, classes: grid.classes, frameSeconds: 1 / grid.framesPerSecond,
      sed: new Float32Array(grid.frames * grid.classes), doa: new Float32Array(grid.frames * 3 * grid.classes),
    }
    splitTargets(targets.data, grid.frames, grid.classes, false, p.sed, p.doa)
    const events = framesToEvents(p, classNames(dataset))
    expect(events.map((e) => e.className)).toEqual(annotated.map((a) => a.className))
    events.forEach((event, i) => {
      const {start, end, azimuth, elevation} = annotated[i]
      expect(start - event.onset).toBeGreaterThanOrEqual(0)
      expect(start - event.onset).toBeLessThan(p.frameSeconds)
      expect(event.offset - end).toBeGreaterThanOrEqual(0)
      expect(event.offset - end).toBeLessThan(p.frameSeconds)
      // The published targets give an event's last frame the inactive direction (180°, 60°): a small pull.
      expect(Math.abs(((event.azimuth - azimuth + 540) % 360) - 180)).toBeLessThan(1)
      expect(Math.abs(event.elevation - elevation)).toBeLessThan(1)
      expect(event.confidence).toBe(1)
    })
  })
})

describe('event tracks', () => {
  const c = (deg: number) => Math.cos((deg * Math.PI) / 180)
  const s = (deg: number) => Math.sin((deg * Math.PI) / 180)

  it('gives a moving event its start and end directions and its mean angular velocity', () => {
    // 2 s at 10 ms frames, azimuth from 170° through ±180° to −110° (40 °/s), elevation 10°.
    const {p, set} = predictions(260)
    for (let f = 30; f <= 229; f++) set(f, f, 1, 0.9, [c(10) * c(170 + 0.4 * (f - 30)), c(10) * s(170 + 0.4 * (f - 30)), s(10)])
    const [event] = framesToEvents(p, NAMES, OPTIONS)
    expect(event).toMatchObject({className: 'speech', firstFrame: 30, lastFrame: 229})
    // Each end averages 0.1 s = 10 frames: their centres are 4.5 frames in, 1.8° along the path.
    expect(event.start.azimuth).toBeCloseTo(171.8, 1)
    expect(event.end.azimuth).toBeCloseTo(-112.2, 1)
    expect(event.start.elevation).toBeCloseTo(10, 1)
    // The great-circle angle between the ends over the 1.9 s between their centres: a little under 40 °/s at 10° elevation.
    expect(event.angularVelocity).toBeCloseTo(angleBetween(event.start, event.end) / 1.9, 6)
    expect(event.angularVelocity).toBeGreaterThan(38)
    expect(event.angularVelocity).toBeLessThan(40)
    const track = eventTrack(p, event)
    expect(track).toHaveLength(200)
    expect(track[0].time).toBeCloseTo(0.3, 12)
    expect(track[0].azimuth).toBeCloseTo(170, 4)
    expect(track[199].azimuth).toBeCloseTo(-110.4, 4)
  })

  it('gives a still event equal ends and no velocity, and a one-frame event its own direction', () => {
    const {p, set} = predictions(100)
    set(10, 40, 0, 0.9, [0, 1, 0])
    const [still] = framesToEvents(p, NAMES, OPTIONS)
    expect(still.angularVelocity).toBeCloseTo(0, 6)
    expect(eventEnds(p, 0, 70, 70)).toEqual({start: eventEnds(p, 0, 70, 70).end, end: eventEnds(p, 0, 70, 70).start, angularVelocity: 0})
  })
})

describe('event formats', () => {
  function twoEvents() {
    const {p, set} = predictions(100)
    set(10, 29, 0, 0.8, [0, 1, 0])
    set(50, 69, 1, 0.61234, [0, 0.5, 0.5])
    return {p, events: framesToEvents(p, NAMES, OPTIONS)}
  }

  it('csv: the documented header, one row per event, seconds, degrees and confidence rounded', () => {
    const {events} = twoEvents()
    expect(eventsToCsv(events)).toBe(`${CSV_HEADER}\nknock,0.1,0.29,90,0,0.8,90,0,90,0,0\nspeech,0.5,0.69,90,45,0.612,90,45,90,45,0\n`)
    expect(CSV_HEADER).toBe('class,onset,offset,azimuth,elevation,confidence,start_azimuth,start_elevation,end_azimuth,end_elevation,angular_velocity')
    expect(eventsToCsv([])).toBe(`${CSV_HEADER}\n`)
  })

  it('json: an array of events with the csv fields and the per-frame track', () => {
    const {p, events} = twoEvents()
    const ends = (azimuth: number, elevation: number) => ({start_azimuth: azimuth, start_elevation: elevation, end_azimuth: azimuth, end_elevation: elevation, angular_velocity: 0})
    const track = (first: number, last: number, azimuth: number, elevation: number) =>
      Array.from({length: last - first + 1}, (_, i) => ({time: Number(((first + i) * FRAME).toFixed(3)), azimuth, elevation}))
    expect(JSON.parse(eventsToJson(events, p))).toEqual([
      {class: 'knock', onset: 0.1, offset: 0.29, azimuth: 90, elevation: 0, confidence: 0.8, ...ends(90, 0), track: track(10, 29, 90, 0)},
      {class: 'speech', onset: 0.5, offset: 0.69, azimuth: 90, elevation: 45, confidence: 0.612, ...ends(90, 45), track: track(50, 69, 90, 45)},
    ])
  })

  it('dcase: one row per 20 ms frame whose start an event covers, class index and integer degrees, no header', () => {
    const {p, set} = predictions(100)
    set(10, 29, 0, 0.8, [0, 1, 0]) // 0.10 … 0.29 s: DCASE frames 5 … 14
    set(20, 21, 0, 0.8, [1, 0, 0]) // DCASE frame 10 covers model frames 20, 21 → 0°
    set(22, 22, 0, 0.8, [1, 0, 0]) // DCASE frame 11 averages frame 22 (1,0,0) and 23 (0,1,0) → 45°
    set(44, 50, 1, 0.9, [0, 0, 1]) // 0.44 … 0.50 s: DCASE frames 22 … 25, straight up
    const rows = eventsToDcase(framesToEvents(p, NAMES, OPTIONS), p).trim().split('\n')
    expect(rows).toEqual([
      '5,0,90,0', '6,0,90,0', '7,0,90,0', '8,0,90,0', '9,0,90,0', '10,0,0,0', '11,0,45,0', '12,0,90,0', '13,0,90,0',
      '14,0,90,0', '22,1,0,90', '23,1,0,90', '24,1,0,90', '25,1,0,90',
    ])
  })

  it('dcase: a model hop longer than 20 ms takes the nearest model frame of the event', () => {
    const {p, set} = predictions(20)
    p.frameSeconds = 0.05
    set(2, 5, 0, 0.9, [0, -1, 0]) // 0.10 … 0.25 s: DCASE frames 5 … 12
    set(4, 5, 0, 0.9, [-1, 0, 0])
    const rows = eventsToDcase(framesToEvents(p, NAMES, OPTIONS), p).trim().split('\n')
    // DCASE frame 6 (0.12 s) holds no model frame start: nearest is frame 2 (0.10 s); frame 9 (0.18 s) → frame 4 (0.20 s).
    expect(rows).toEqual(['5,0,-90,0', '6,0,-90,0', '7,0,-90,0', '8,0,-90,0', '9,0,180,0', '10,0,180,0', '11,0,180,0', '12,0,180,0'])
  })
})

describe('scoreEvents', () => {
  const predicted = (classIndex: number, onset: number, offset: number, azimuth: number): SoundEvent => ({
    classIndex, className: NAMES[classIndex] ?? 'other', firstFrame: 0, lastFrame: 0, onset, offset, azimuth, elevation: 0, confidence: 1,
    start: {azimuth, elevation: 0}, end: {azimuth, elevation: 0}, angularVelocity: 0,
  })
  const annotated = (classColumn: number, start: number, end: number, azimuth: number): DescEvent => ({
    line: 2, className: 'x', classColumn, start, end, azimuth, elevation: 0,
  })

  it('counts (1-second segment, class) presence for F1 and takes each annotated direction from its most overlapping event', () => {
    const events = [
      predicted(0, 0.2, 1.5, 10), // segments 0, 1 of class 0
      predicted(0, 2.5, 2.6, 110), // segment 2
      predicted(0, 2.85, 3.5, 0), // segments 2, 3: overlaps the second annotation less than the one above
      predicted(1, 3.0, 3.2, 0), // segment 3 of class 1: not annotated
    ]
    const reference = [annotated(0, 0.1, 1.2, 0), annotated(0, 2.4, 2.9, 90), annotated(2, 4.1, 4.4, 0)]
    const score = scoreEvents(events, reference, 4.5)
    // Class 0: present in segments 0, 1, 2 on both sides, predicted only in 3; class 1: predicted in 3; class 2: missed in 4.
    expect(score.segments).toBe(5)
    expect(score.f1).toBeCloseTo((2 * 3) / (2 * 3 + 2 + 1), 12)
    expect(score.annotated).toBe(3)
    expect(score.directionErrors.map((e) => Number(e.toFixed(9)))).toEqual([10, 20])
    expect(score.medianDirectionError).toBeCloseTo(15, 9)
  })

  it('compares a moving annotated source at the middle of its path', () => {
    // 2 s at 20 °/s along the horizon from 0° towards 90°: halfway it is at 20°.
    const moving: DescEvent = {...annotated(0, 1, 3, 0), motion: {kind: 'great-circle', azimuthTowards: 90, elevationTowards: 0, angularVelocity: 20}}
    const score = scoreEvents([predicted(0, 1, 3, 25)], [moving], 4)
    expect(score.directionErrors[0]).toBeCloseTo(5, 9)
  })

  it('has no median when no annotated event is found', () => {
    const score = scoreEvents([predicted(1, 0, 1, 0)], [annotated(0, 0, 1, 0)], 2)
    expect(score.f1).toBe(0)
    expect(score.directionErrors).toEqual([])
    expect(score.medianDirectionError).toBeNaN()
  })

  it('measures great-circle distances', () => {
    expect(angleBetween({azimuth: 0, elevation: 90}, {azimuth: 123, elevation: 90})).toBeCloseTo(0, 6)
    expect(angleBetween({azimuth: -170, elevation: 0}, {azimuth: 170, elevation: 0})).toBeCloseTo(20, 9)
    expect(angleBetween({azimuth: 90, elevation: 0}, {azimuth: 0, elevation: 45})).toBeCloseTo(90, 9)
    expect(angleBetween({azimuth: 60, elevation: 20}, {azimuth: 50, elevation: 20})).toBeCloseTo(9.3955, 4)
  })
})
