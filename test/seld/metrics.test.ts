import {describe, expect, it} from 'vitest'
import {seld2018Metrics, type Seld2018Input, type Seld2018Metrics} from '../../src/seld/eval/metrics-2018.js'
import {conformanceFiles, readConformance} from '../conformance.js'


interface MetricsCase {
  nb_frames_1s: number
  nb_classes: number
  azi_only: boolean
  gt_sed: number[][]
  pred_sed: number[][]
  gt_doa: number[][]
  pred_doa: number[][]
  expected: Record<string, number | number[][]>
}

/** Conformance field name -> our field name. */
const FIELDS: Record<string, keyof Seld2018Metrics> = {
  er: 'er', f1: 'f1', doa_error_gt: 'doaErrorGt', doa_error_pred: 'doaErrorPred', doa_gt_count: 'doaGtCount',
  doa_pred_count: 'doaPredCount', good_frame_count: 'goodFrameCount', frame_recall: 'frameRecall',
  doa_avg_accuracy: 'doaAvgAccuracy', doa_error_gt_degrees: 'doaErrorGtDegrees', seld_score: 'seldScore',
  source_count_confusion: 'sourceCountConfusion',
}

function expectRelative(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-12)
  expect(Math.abs(actual - expected) / scale, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6)
}

function toInput(c: MetricsCase, ArrayType: Float32ArrayConstructor | Float64ArrayConstructor): Seld2018Input {
  return {
    sedPred: ArrayType.from(c.pred_sed.flat()), sedRef: ArrayType.from(c.gt_sed.flat()),
    doaPred: ArrayType.from(c.pred_doa.flat()), doaRef: ArrayType.from(c.gt_doa.flat()),
    frames: c.gt_sed.length, classes: c.nb_classes, framesPerSecond: c.nb_frames_1s, aziOnly: c.azi_only,
  }
}

const caseFiles = conformanceFiles('metrics_')

describe('seld2018Metrics against the published implementation', () => {
  it('finds the five conformance vectors', () => {
    expect(caseFiles.length).toBe(5)
  })

  for (const file of caseFiles) {
    const c = readConformance<MetricsCase>(file)
    for (const ArrayType of [Float64Array, Float32Array]) {
      it(`reproduces ${file} from ${ArrayType.name} input`, () => {
        const result = seld2018Metrics(toInput(c, ArrayType))
        for (const [theirs, ours] of Object.entries(FIELDS)) {
          const expected = c.expected[theirs]
          const actual = result[ours]
          if (Array.isArray(expected)) {
            const matrix = actual as number[][]
            expect(matrix.length, `${file} ${theirs} rows`).toBe(expected.length)
            expected.forEach((row, i) => row.forEach((v, j) => expect(matrix[i][j], `${theirs}[${i}][${j}]`).toBeCloseTo(v, 12)))
          } else {
            expectRelative(actual as number, expected, `${file} ${theirs}`)
          }
        }
        expect(result.sourceCountLabels).toEqual([...(c.expected.source_count_confusion as number[][]).keys()])
      })
    }
  }
})

/** Builds a one-class input from per-frame activity and azimuths (degrees, on the horizontal plane). */
function oneClass(ref: number[], pred: number[], refAzimuth = 0, predAzimuth = 0, framesPerSecond = 4): Seld2018Input {
  const frames = ref.length
  const doa = (azimuth: number) => {
    const values = new Float64Array(frames * 3)
    for (let f = 0; f < frames; f++) {
      values[f * 3] = Math.cos((azimuth * Math.PI) / 180)
      values[f * 3 + 1] = Math.sin((azimuth * Math.PI) / 180)
    }
    return values
  }
  return {
    sedRef: Float64Array.from(ref), sedPred: Float64Array.from(pred), doaRef: doa(refAzimuth), doaPred: doa(predAzimuth),
    frames, classes: 1, framesPerSecond,
  }
}

describe('seld2018Metrics conventions', () => {
  it('ignores the last frame of every segment, as published', () => {
    // Reference active only in the last frame of each 4-frame segment: invisible to ER and F1.
    const result = seld2018Metrics(oneClass([0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0]))
    expect(result.f1).toBe(0)
    expect(Number.isNaN(result.er)).toBe(true) // no reference activity in the scored frames: 0/0 as numpy gives
    // Frame-wise metrics still see those frames.
    expect(result.goodFrameCount).toBe(6)
  })

  it('scores ER over whole segments only and F1 over a trailing partial one too', () => {
    // 6 frames, segments of 4: ER sees segment 0, F1 sees segments 0 and 1 (frames 4..5).
    const result = seld2018Metrics(oneClass([1, 1, 1, 0, 1, 1], [1, 1, 1, 0, 0, 0]))
    expect(result.er).toBe(0)
    expect(result.f1).toBeCloseTo(2 / 3, 12)
  })

  it('measures DOA error as the chord between unit vectors and its angle', () => {
    const result = seld2018Metrics(oneClass([1, 1, 1, 1], [1, 1, 1, 1], 0, 60))
    expect(result.doaErrorGt).toBeCloseTo(1, 12) // chord of 60° on the unit circle
    expect(result.doaErrorGtDegrees).toBeCloseTo(60, 10)
    expect(result.seldScore).toBeCloseTo((0 + 0 + 60 / 180 + 0) / 4, 12)
  })

  it('labels the confusion with the counts seen, and averages its diagonal over label positions', () => {
    // Two classes, counts 0 and 2 only (no frame with exactly one source): sklearn's labels are [0, 2].
    const frames = 4
    const input: Seld2018Input = {
      sedRef: Float64Array.from([0, 0, 1, 1, 1, 1, 0, 0]), sedPred: Float64Array.from([0, 0, 1, 1, 0, 0, 1, 1]),
      doaRef: new Float64Array(frames * 6), doaPred: new Float64Array(frames * 6), frames, classes: 2, framesPerSecond: 2,
    }
    const result = seld2018Metrics(input)
    expect(result.sourceCountLabels).toEqual([0, 2])
    expect(result.sourceCountConfusion[0][0]).toBeCloseTo(0.5, 12)
    expect(result.sourceCountConfusion[1][1]).toBeCloseTo(0.5, 12)
    expect(result.doaAvgAccuracy).toBeCloseTo(0.5, 12)
  })

  it('refuses probabilities, mismatched lengths and one-frame segments with a clear message', () => {
    const probabilities = {...oneClass([1, 0], [1, 0]), sedPred: Float64Array.from([0.7, 0])}
    expect(() => seld2018Metrics(probabilities)).toThrow(/sedPred must hold only 0 and 1.*0\.7 at row 0/)
    expect(() => seld2018Metrics({...oneClass([1, 0], [1, 0]), doaRef: new Float64Array(5)})).toThrow(/doaRef holds 5 values, expected 2 × 3/)
    expect(() => seld2018Metrics(oneClass([1, 0], [1, 0], 0, 0, 1))).toThrow(/framesPerSecond must be an integer of at least 2/)
  })
})
