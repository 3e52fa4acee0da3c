import {describe, expect, it} from 'vitest'
import {readConformance} from '../conformance.js'
import {createAssignmentSolver, jointMetrics, type JointInput} from '../../src/seld/eval/joint-metrics.js'

/** A scene of `seconds` 1-second segments of 10 frames, with `tracks` simultaneous events allowed per class. */
function scene(seconds: number, classes = 1, tracks = 1) {
  const framesPerSecond = 10
  const frames = seconds * framesPerSecond
  const input: JointInput = {
    sedRef: new Float64Array(frames * tracks * classes), sedPred: new Float64Array(frames * tracks * classes),
    doaRef: new Float64Array(frames * tracks * 3 * classes), doaPred: new Float64Array(frames * tracks * 3 * classes),
    frames, classes, tracks, framesPerSecond,
  }
  /** Marks class k active on track t over frames [from, to) at the given direction (degrees). */
  const place = (side: 'ref' | 'pred', from: number, to: number, k: number, azimuth: number, elevation = 0, t = 0) => {
    const sed = side === 'ref' ? input.sedRef : input.sedPred
    const doa = side === 'ref' ? input.doaRef : input.doaPred
    const [a, e] = [(azimuth * Math.PI) / 180, (elevation * Math.PI) / 180]
    const xyz = [Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e)]
    for (let frame = from; frame < to; frame++) {
      const row = frame * tracks + t
      sed[row * classes + k] = 1
      xyz.forEach((value, d) => (doa[row * 3 * classes + d * classes + k] = value))
    }
  }
  return {input, place}
}

function expectScores(input: JointInput, expected: {er20: number; f20: number; leCd: number; lrCd: number}): void {
  const result = jointMetrics(input)
  expect(result.er20).toBeCloseTo(expected.er20, 9)
  expect(result.f20).toBeCloseTo(expected.f20, 9)
  // The baseline normalises with sqrt(|v|² + 1e-10): identical directions are about 0.0008° apart.
  expect(result.leCd).toBeCloseTo(expected.leCd, 2)
  expect(result.lrCd).toBeCloseTo(expected.lrCd, 9)
  const seld = (expected.er20 + 1 - expected.f20 + expected.leCd / 180 + 1 - expected.lrCd) / 4
  expect(result.seldScore).toBeCloseTo(seld, 5)
}

describe('jointMetrics on hand-computed cases', () => {
  it('scores a perfect prediction as perfect', () => {
    const {input, place} = scene(2)
    place('ref', 0, 20, 0, 30, 10)
    place('pred', 0, 20, 0, 30, 10)
    expectScores(input, {er20: 0, f20: 1, leCd: 0, lrCd: 1})
  })

  it('counts a detection 30° off as a localized false positive, and 10° off as a true positive', () => {
    const far = scene(2)
    far.place('ref', 0, 20, 0, 30)
    far.place('pred', 0, 20, 0, 60)
    // Two segments, each: localized (LR counts it), error 30° > 20°, so a spatial false positive and an insertion.
    expectScores(far.input, {er20: 1, f20: 0, leCd: 30, lrCd: 1})
    const near = scene(2)
    near.place('ref', 0, 20, 0, 30)
    near.place('pred', 0, 20, 0, 40)
    expectScores(near.input, {er20: 0, f20: 1, leCd: 10, lrCd: 1})
  })

  it('compares the mean error over the segment with the threshold, elevation included', () => {
    const {input, place} = scene(1)
    place('ref', 0, 10, 0, 0, 0)
    place('pred', 0, 5, 0, 0, 10)
    place('pred', 5, 10, 0, 0, 40) // mean of 10° and 40° = 25° > 20°
    expectScores(input, {er20: 1, f20: 0, leCd: 25, lrCd: 1})
  })

  it('counts a missed event as a false negative', () => {
    const {input, place} = scene(2)
    place('ref', 0, 20, 0, 0)
    place('pred', 0, 10, 0, 0)
    // Segment 0 is right, segment 1 misses: TP 1, FN 1, Nref 2.
    expectScores(input, {er20: 0.5, f20: 1 / 1.5, leCd: 0, lrCd: 0.5})
  })

  it('counts a false alarm as a false positive', () => {
    const {input, place} = scene(2)
    place('ref', 0, 10, 0, 0)
    place('pred', 0, 20, 0, 0)
    expectScores(input, {er20: 1, f20: 1 / 1.5, leCd: 0, lrCd: 1})
  })

  it('pairs two swapped same-class sources by minimum-cost assignment', () => {
    const {input, place} = scene(1, 1, 2)
    place('ref', 0, 10, 0, 0, 0, 0)
    place('ref', 0, 10, 0, 90, 0, 1)
    // The prediction lists the sources in the other order, each 5° off: matched correctly both are right.
    place('pred', 0, 10, 0, 95, 0, 0)
    place('pred', 0, 10, 0, 5, 0, 1)
    expectScores(input, {er20: 0, f20: 1, leCd: 5, lrCd: 1})
  })

  it('counts a missing second track of a class as a false negative', () => {
    const {input, place} = scene(1, 1, 2)
    place('ref', 0, 10, 0, 0, 0, 0)
    place('ref', 0, 10, 0, 90, 0, 1)
    place('pred', 0, 10, 0, 88, 0, 0) // only the source at 90°, on the other track
    expectScores(input, {er20: 0.5, f20: 1 / 1.5, leCd: 2, lrCd: 0.5})
  })

  it('counts one error, not two, when a segment confuses one class with another', () => {
    const {input, place} = scene(1, 2)
    place('ref', 0, 10, 0, 0)
    place('pred', 0, 10, 1, 0)
    // Class 0: FN, class 1: FP; the segment's substitution is one error over one reference event.
    const result = jointMetrics(input)
    expect(result.er20).toBeCloseTo(1, 9)
    expect(result.classwise.f20).toEqual([0, 0])
    expect(result.classwise.lrCd).toEqual([0, 0])
    expect(result.classwise.leCd).toEqual([180, 180])
  })

  it('keeps the baseline conventions: absent classes score 0, frame-misaligned detections count as misses', () => {
    const absent = scene(1, 2)
    absent.place('ref', 0, 10, 0, 0)
    absent.place('pred', 0, 10, 0, 0)
    const result = jointMetrics(absent.input)
    expect(result.classwise.f20[0]).toBeCloseTo(1, 9)
    expect(result.classwise.f20[1]).toBe(0)
    expect(result.f20).toBeCloseTo(0.5, 9)
    expect(result.leCd).toBeCloseTo(90, 2)
    const misaligned = scene(1)
    misaligned.place('ref', 0, 5, 0, 0)
    misaligned.place('pred', 5, 10, 0, 0)
    expectScores(misaligned.input, {er20: 1, f20: 0, leCd: 180, lrCd: 0})
  })

  it('restarts segments at every recording when several are concatenated', () => {
    // Two 15-frame recordings: the reference ends the first, the prediction starts the second.
    const {input, place} = scene(3)
    place('ref', 10, 15, 0, 0)
    place('pred', 15, 20, 0, 0)
    // One recording: a single segment [10, 20) holds both, never in the same frame: one miss.
    expectScores(input, {er20: 1, f20: 0, leCd: 180, lrCd: 0})
    // Two recordings: a miss in segment [10, 15) and a false alarm in [15, 25), two errors over one reference event.
    expectScores({...input, recordingFrames: [15, 15]}, {er20: 2, f20: 0, leCd: 180, lrCd: 0})
    expect(() => jointMetrics({...input, recordingFrames: [15, 10]})).toThrow(/recordingFrames must be non-negative integers adding up to the 30 frames/)
  })

  it('accepts azimuth-only x, y directions', () => {
    const frames = 10
    const input: JointInput = {
      sedRef: new Float64Array(frames).fill(1), sedPred: new Float64Array(frames).fill(1),
      doaRef: new Float64Array(frames * 2), doaPred: new Float64Array(frames * 2),
      frames, classes: 1, framesPerSecond: 10, aziOnly: true,
    }
    for (let f = 0; f < frames; f++) {
      input.doaRef[f * 2] = 1
      input.doaPred[f * 2] = Math.cos(Math.PI / 4)
      input.doaPred[f * 2 + 1] = Math.sin(Math.PI / 4)
    }
    expectScores(input, {er20: 1, f20: 0, leCd: 45, lrCd: 1})
  })

  it('refuses inconsistent input', () => {
    const {input} = scene(1, 1, 2)
    expect(() => jointMetrics({...input, tracks: 1})).toThrow(/sedPred holds 20 values, expected 10 × 1/)
    expect(() => jointMetrics({...input, tracks: 0})).toThrow(/tracks must be a positive integer/)
  })
})

/**
 * The DCASE 2023 baseline (SELD_evaluation_metrics.SELDMetrics, macro averaging, 20°, its segment_labels with
 * 1-second blocks of nb_frames_1s frames) run on the arrays of the 2018 conformance vectors, read as single-track output.
 */
const BASELINE: Record<string, {er20: number; f20: number; leCd: number; lrCd: number; seldScore: number}> = {
  metrics_a_ov1_clean: {er20: 0.0, f20: 0.5454545454545454, leCd: 83.1787091014278, lrCd: 0.5454545454545454, seldScore: 0.3427987121358215},
  metrics_a_ov2_azi: {er20: 3.230769230769231, f20: 0.3216959807868899, leCd: 68.94073759600195, lrCd: 0.6363636363636364, seldScore: 1.1639284278435678},
  metrics_a_ov2_noisy: {er20: 3.5833333333333335, f20: 0.3242288015015288, leCd: 43.11500725703087, lrCd: 0.8181818181818182, seldScore: 1.1701126329361509},
  metrics_a_ov3_noisy: {er20: 3.5824175824175826, f20: 0.008874458874458875, leCd: 25.06677017906969, lrCd: 1.0, seldScore: 1.1782007394678222},
  metrics_a_ragged: {er20: 3.5555555555555554, f20: 0.0, leCd: 55.37190353669797, lrCd: 0.875, seldScore: 1.2470443104676359},
}

describe('jointMetrics against the DCASE baseline', () => {
  for (const [name, expected] of Object.entries(BASELINE)) {
    it(`reproduces the baseline on the ${name} arrays`, () => {
      const c = readConformance<{gt_sed: number[][]; pred_sed: number[][]; gt_doa: number[][]; pred_doa: number[][]; nb_classes: number; nb_frames_1s: number; azi_only: boolean}>(name)
      const flat = (rows: number[][]) => Float64Array.from(rows.flat())
      const result = jointMetrics({
        sedRef: flat(c.gt_sed), sedPred: flat(c.pred_sed), doaRef: flat(c.gt_doa), doaPred: flat(c.pred_doa),
        frames: c.gt_sed.length, classes: c.nb_classes, framesPerSecond: c.nb_frames_1s, aziOnly: c.azi_only,
      })
      for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
        expect(Math.abs(result[key] - expected[key]), `${key}: ${result[key]} vs ${expected[key]}`).toBeLessThanOrEqual(1e-9 * Math.max(1, expected[key]))
      }
    })
  }
})

/** A small deterministic generator, so the comparison below is reproducible. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** Minimum total cost of assigning min(rows, cols) pairs, by trying every injection. */
function bruteForceMinimum(cost: Float64Array, rows: number, cols: number): number {
  const used = new Array<boolean>(Math.max(rows, cols)).fill(false)
  const [n, m] = rows <= cols ? [rows, cols] : [cols, rows]
  const at = (i: number, j: number) => (rows <= cols ? cost[i * cols + j] : cost[j * cols + i])
  const search = (i: number): number => {
    if (i === n) return 0
    let best = Infinity
    for (let j = 0; j < m; j++) {
      if (used[j]) continue
      used[j] = true
      best = Math.min(best, at(i, j) + search(i + 1))
      used[j] = false
    }
    return best
  }
  return search(0)
}

describe('createAssignmentSolver', () => {
  it('beats the greedy choice', () => {
    // Greedy takes (0,0) = 1 and then must pay 100; the optimum pays 2 + 2.
    const solve = createAssignmentSolver(2)
    const rowToCol = new Int32Array(2)
    solve(Float64Array.from([1, 2, 2, 100]), 2, 2, rowToCol)
    expect([...rowToCol]).toEqual([1, 0])
  })

  it('finds the minimum of every random matrix up to 4 × 5 and leaves extra rows out', () => {
    const next = random(7)
    const solve = createAssignmentSolver(5)
    const rowToCol = new Int32Array(5)
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(next() * 5), cols = 1 + Math.floor(next() * 5)
      const cost = Float64Array.from({length: rows * cols}, () => Math.floor(next() * 180))
      solve(cost, rows, cols, rowToCol)
      const assigned = [...rowToCol.subarray(0, rows)].filter((c) => c >= 0)
      expect(assigned.length).toBe(Math.min(rows, cols))
      expect(new Set(assigned).size).toBe(assigned.length)
      let total = 0
      for (let r = 0; r < rows; r++) if (rowToCol[r] >= 0) total += cost[r * cols + rowToCol[r]]
      expect(total).toBe(bruteForceMinimum(cost, rows, cols))
    }
  })
})
