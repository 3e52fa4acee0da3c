import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {datasetSpec, DCASE2016_CLASSES} from '../../src/seld/features/datasets.js'
import {
  INACTIVE_AZIMUTH, INACTIVE_ELEVATION, labelGrid, labelMatrix, labelToTargets, parseDescCsv, targetsToLabel,
  xyzToAzimuthElevation,
} from '../../src/seld/features/labels.js'
import {readNpy} from '../../src/seld/io/npy.js'
import {readConformance, repoRoot, type LabelsVector} from '../conformance.js'


type LabelsCase = LabelsVector
const cases = ['labels_a_nfft512.json', 'labels_a_nfft1024.json'].map(
  (file) => [file, readConformance<LabelsCase>(file)] as const,
)
const ansim = datasetSpec('ansim')
const HEADER = 'sound_event_recording,start_time,end_time,ele,azi,dist'

/** The published layout, row by row: activities then azimuths then elevations. */
function expectedRows(vector: LabelsCase): number[][] {
  return vector.expected_sed.map((sed, f) => [...sed, ...vector.expected_doa_deg[f]])
}

function rows(array: {shape: number[]; data: Float32Array}): number[][] {
  const [frames, width] = array.shape
  return Array.from({length: frames}, (_, f) => Array.from(array.data.subarray(f * width, (f + 1) * width)))
}

describe('labelMatrix', () => {
  for (const [file, vector] of cases) {
    it(`reproduces the published labels of ${file} exactly`, () => {
      expect(vector.class_index).toEqual(ansim.classIndex)
      const grid = labelGrid(ansim, vector.nfft)
      expect(grid.frames).toBe(vector.nb_frames)
      const label = labelMatrix(parseDescCsv(vector.desc_csv, file, vector.class_index), grid)
      expect(label.shape).toEqual([vector.nb_frames, 33])
      expect(rows(label)).toEqual(expectedRows(vector))
    })
  }

  it('clips events running past the last frame, activity one frame longer than direction', () => {
    const grid = {frames: 10, classes: 2, framesPerSecond: 2}
    const events = parseDescCsv(`${HEADER}\nb001.wav,3.6,9,10,20,1\na001.wav,0,1,-30,40,1\n`, 'clip.csv', {a: 0, b: 1})
    const label = rows(labelMatrix(events, grid))
    // b: frames floor(7.2) = 7 … ceil(18) clipped to the end; a: frames 0 … 2 active, direction on 0 … 1.
    expect(label.map((row) => row.slice(0, 2))).toEqual([[1, 0], [1, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 1], [0, 1], [0, 1]])
    // Columns: activity a, b; azimuth a, b; elevation a, b. Clipped at the end, b keeps its direction to the last frame.
    const a = [40, -30]
    const b = [20, 10]
    const none = [180, 60]
    expect(label.map((row) => [row[2], row[4]])).toEqual([a, a, none, none, none, none, none, none, none, none])
    expect(label.map((row) => [row[3], row[5]])).toEqual([none, none, none, none, none, none, none, b, b, b])
  })
})

describe('labelToTargets and back', () => {
  const [, vector] = cases[0]
  const label = labelMatrix(parseDescCsv(vector.desc_csv, 'a.csv', vector.class_index), labelGrid(ansim, vector.nfft))
  const targets = labelToTargets(label)
  const K = 11

  it('puts activity then unit x, y, z per class, zeros where inactive', () => {
    expect(targets.shape).toEqual([vector.nb_frames, 4 * K])
    let active = 0
    let activityMismatches = 0
    let worstInactiveLength = 0
    let worstUnitError = 0
    let worstAngleError = 0
    for (let f = 0; f < vector.nb_frames; f++) {
      for (let k = 0; k < K; k++) {
        const at = (i: number) => targets.data[f * 4 * K + i * K + k]
        if (at(0) !== vector.expected_sed[f][k]) activityMismatches++
        const length = Math.hypot(at(1), at(2), at(3))
        if (vector.expected_sed[f][k] === 0) {
          worstInactiveLength = Math.max(worstInactiveLength, length)
          continue
        }
        active++
        worstUnitError = Math.max(worstUnitError, Math.abs(length - 1))
        // The direction is the label's (180°, 60° on the last active frame, as the published generator does).
        const direction = xyzToAzimuthElevation(at(1), at(2), at(3))
        const azimuthError = Math.abs(((direction.azimuth - vector.expected_doa_deg[f][k] + 540) % 360) - 180)
        worstAngleError = Math.max(worstAngleError, azimuthError, Math.abs(direction.elevation - vector.expected_doa_deg[f][K + k]))
      }
    }
    expect(active).toBeGreaterThan(100)
    expect(activityMismatches).toBe(0)
    expect(worstInactiveLength).toBe(0)
    expect(worstUnitError).toBeLessThan(1e-6)
    expect(worstAngleError).toBeLessThan(1e-4)
  })

  it('gives the label back from targets', () => {
    const back = targetsToLabel(targets)
    expect(back.shape).toEqual(label.shape)
    let worst = 0
    for (let i = 0; i < back.data.length; i++) {
      const column = i % (3 * K)
      const difference = Math.abs(back.data[i] - label.data[i])
      // Azimuth 180 and −180 are the same direction.
      worst = Math.max(worst, column >= K && column < 2 * K ? Math.min(difference, Math.abs(difference - 360)) : difference)
    }
    expect(worst).toBeLessThan(1e-4)
  })

  it('treats activities at or below the threshold as inactive', () => {
    const one = {shape: [1, 4], data: Float32Array.from([0.5, 0, 1, 0])}
    expect(Array.from(targetsToLabel(one).data)).toEqual([0, INACTIVE_AZIMUTH, INACTIVE_ELEVATION])
    expect(Array.from(targetsToLabel(one, 0.4).data)).toEqual([1, 90, 0])
  })

  it('converts directions of any length, poles and the back included', () => {
    expect(xyzToAzimuthElevation(2, 0, 0)).toEqual({azimuth: 0, elevation: 0})
    expect(xyzToAzimuthElevation(0, -3, 0)).toEqual({azimuth: -90, elevation: 0})
    expect(xyzToAzimuthElevation(0, 0, 0.5).elevation).toBe(90)
    expect(xyzToAzimuthElevation(-1, 0, -1).azimuth).toBe(180)
    expect(xyzToAzimuthElevation(-1, 0, -1).elevation).toBeCloseTo(-45, 12)
  })
})

describe('parseDescCsv', () => {
  const parse = (body: string, header = HEADER) => () => parseDescCsv(`${header}\n${body}`, 'desc/train_1.csv', DCASE2016_CLASSES)

  it('reads class, times, direction and distance, tolerating a byte order mark, CRLF and blank lines', () => {
    const events = parseDescCsv(`\uFEFF${HEADER}\r\nkeysDrop015.wav,2.644081,3.707072,-20,30,7.3\r\n\r\n`, 'x.csv', DCASE2016_CLASSES)
    expect(events).toEqual([{line: 2, className: 'keysDrop', classColumn: 4, start: 2.644081, end: 3.707072, elevation: -20, azimuth: 30, distance: 7.3}])
  })

  it('names file and line of every malformed row', () => {
    expect(parse('knock001.wav,1,2,10,20,3', 'sound_event_recording,start_time,end_time,ele,dist')).toThrow("desc/train_1.csv:1: missing column 'azi'")
    expect(parse('knock001.wav,1,2,10,20,3\nknock002.wav,1,2,10,20')).toThrow('desc/train_1.csv:3: 5 fields, the header has 6')
    expect(parse('whistle001.wav,1,2,10,20,3')).toThrow(/desc\/train_1\.csv:2: unknown class 'whistle' of 'whistle001\.wav'/)
    expect(parse('knock001.wav,1,2,10,200,3')).toThrow('desc/train_1.csv:2: azi 200 is outside -180 … 180')
    expect(parse('knock001.wav,1,2,-91,20,3')).toThrow('desc/train_1.csv:2: ele -91 is outside -90 … 90')
    expect(parse('knock001.wav,1,2x,10,20,3')).toThrow("desc/train_1.csv:2: end_time '2x' is not a number")
    expect(parse('knock001.wav,1,,10,20,3')).toThrow("desc/train_1.csv:2: end_time '' is not a number")
    expect(parse('knock001.wav,3,2,10,20,3')).toThrow('desc/train_1.csv:2: end_time 2 is before start_time 3')
    expect(parse('knock001.wav,-1,2,10,20,3')).toThrow('desc/train_1.csv:2: start_time -1 is outside 0 … Infinity')
    expect(() => parseDescCsv('', 'empty.csv', DCASE2016_CLASSES)).toThrow("empty.csv:1: missing column 'sound_event_recording'")
  })

  it('does not take inherited object keys for classes', () => {
    expect(parse('constructor001.wav,1,2,10,20,3')).toThrow(/unknown class 'constructor'/)
  })
})

// Runs the compiled stage and command, as the pipeline and users do (`npm test` builds first).
describe('labels stage and command', () => {
  let work: string
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'seld-labels-'))
  })
  afterEach(() => rmSync(work, {recursive: true, force: true}))

  it('writes labels and targets of every csv, matching the published labels', () => {
    const [, vector] = cases[0]
    mkdirSync(path.join(work, 'desc'))
    writeFileSync(path.join(work, 'desc', 'train_0.csv'), vector.desc_csv)
    writeFileSync(path.join(work, 'desc', 'test_0.csv'), `${HEADER}\n`)
    const run = spawnSync('node', [path.join(repoRoot, 'dist/stages/labels.js'), '--dataset', 'ansim', '--nfft', '512', '--desc', path.join(work, 'desc'), '--out', path.join(work, 'labels')], {encoding: 'utf8'})
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(readdirSync(path.join(work, 'labels')).sort()).toEqual(['test_0.npy', 'test_0.targets.npy', 'train_0.npy', 'train_0.targets.npy'])
    expect(rows(readNpy(path.join(work, 'labels', 'train_0.npy')))).toEqual(expectedRows(vector))
    const targets = readNpy(path.join(work, 'labels', 'train_0.targets.npy'))
    expect(targets.shape).toEqual([vector.nb_frames, 44])
    const silent = readNpy(path.join(work, 'labels', 'test_0.npy'))
    expect(new Set(silent.data.subarray(0, 33))).toEqual(new Set([0, 180, 60]))
  })

  it('fails naming file and line, leaving no output folder', () => {
    mkdirSync(path.join(work, 'desc'))
    writeFileSync(path.join(work, 'desc', 'train_0.csv'), `${HEADER}\nknock001.wav,1,2,10,20,3\n`)
    writeFileSync(path.join(work, 'desc', 'train_1.csv'), `${HEADER}\nknock001.wav,1,2,10,20,3\nbark001.wav,1,2,10,20,3\n`)
    const run = spawnSync('node', [path.join(repoRoot, 'dist/stages/labels.js'), '--dataset', 'ansim', '--nfft', '512', '--desc', path.join(work, 'desc'), '--out', path.join(work, 'labels')], {encoding: 'utf8'})
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/train_1\.csv:3: unknown class 'bark'/)
    expect(readdirSync(work)).toEqual(['desc'])
  })

  it('refuses an event past the end of the recordings, naming file and line (times in milliseconds, 1e999)', () => {
    const stage = () => spawnSync('node', [path.join(repoRoot, 'dist/stages/labels.js'), '--dataset', 'ansim', '--nfft', '512', '--desc', path.join(work, 'desc'), '--out', path.join(work, 'labels')], {encoding: 'utf8'})
    mkdirSync(path.join(work, 'desc'))
    for (const [row, problem] of [['knock001.wav,1500,2500,10,20,3', 'starts at 1500 s'], ['knock001.wav,1,1e999,10,20,3', 'ends at Infinity s'], ['knock001.wav,29.5,31.5,10,20,3', 'ends at 31.5 s']]) {
      writeFileSync(path.join(work, 'desc', 'train_0.csv'), `${HEADER}\nknock001.wav,1,2,10,20,3\n${row}\n`)
      const run = stage()
      expect(run.status).toBe(1)
      expect(run.stderr).toContain(`train_0.csv:3: the event ${problem}, past the end of the dataset's 30 s recordings (times must be in seconds)`)
      expect(readdirSync(work)).toEqual(['desc'])
    }
    // An event ending a little past the end is clipped to the last frame, as the published code does.
    writeFileSync(path.join(work, 'desc', 'train_0.csv'), `${HEADER}\nknock001.wav,29.5,30.4,10,20,3\n`)
    expect(stage().status).toBe(0)
  })

  it('seldpipe labels writes one csv\'s labels and targets', () => {
    const [, vector] = cases[1]
    writeFileSync(path.join(work, 'one.csv'), vector.desc_csv)
    const out = path.join(work, 'one-labels.npy')
    const run = spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'labels', path.join(work, 'one.csv'), '--dataset', 'ansim', '--nfft', '1024', '--out', out], {encoding: 'utf8'})
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(rows(readNpy(out))).toEqual(expectedRows(vector))
    expect(existsSync(path.join(work, 'one-labels.targets.npy'))).toBe(true)
  })
})
