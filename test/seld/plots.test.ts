import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {Figure, niceTicks, percentileRange, viridis} from '../../src/seld/plots/canvas.js'
import {drawRecording, drawTrainingCurves, trackLines, type CurvePoint} from '../../src/seld/plots/figures.js'

const dir = mkdtempSync(join(tmpdir(), 'seld-plots-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Buffer): {width: number; height: number} {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR')
  return {width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20)}
}

/** Number of distinct colours in the PNG's pixels, decoded by drawing it back onto a canvas. */
async function distinctColours(bytes: Buffer): Promise<number> {
  const {loadImage, createCanvas} = await import('@napi-rs/canvas')
  const image = await loadImage(bytes)
  const canvas = createCanvas(image.width, image.height)
  const ctx = canvas.getContext('2d')
  ctx.drawImage(image, 0, 0)
  const data = ctx.getImageData(0, 0, image.width, image.height).data
  const colours = new Set<number>()
  for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2])
  return colours.size
}

describe('plot helpers', () => {
  it('chooses round ticks covering the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10])
    expect(niceTicks(-180, 180, 4)).toEqual([-100, 0, 100])
    expect(niceTicks(0.1, 0.95, 4)).toEqual([0.25, 0.5, 0.75])
  })

  it('maps the colour range ends to viridis ends and ignores outliers in percentile ranges', () => {
    expect(viridis(0)).toEqual([68, 1, 84])
    expect(viridis(1)).toEqual([253, 231, 37])
    expect(viridis(2)).toEqual(viridis(1))
    const values = Float32Array.from({length: 100}, (_, i) => (i === 99 ? 1e6 : i))
    expect(percentileRange(values)).toEqual([2, 98])
  })

  it('writes a PNG of the figure size atomically', () => {
    const figure = new Figure(320, 200)
    const axes = figure.axes({x: 0, y: 0, width: 320, height: 200}, {title: 't', xLabel: 'x', yLabel: 'y', x: [0, 1], y: [0, 1]})
    axes.line([0, 1], [0, 1], {label: 'diagonal'})
    axes.legend()
    const file = join(dir, 'small.png')
    figure.save(file)
    expect(pngSize(readFileSync(file))).toEqual({width: 320, height: 200})
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
  })
})

describe('drawTrainingCurves', () => {
  it('draws a 1200 × 800 PNG with content, tolerating NaN scores (null in the log)', async () => {
    const records: CurvePoint[] = Array.from({length: 6}, (_, i) => ({
      epoch: i + 1, loss: 3 / (i + 1), sedLoss: 1 / (i + 1), doaLoss: 2 / (i + 1), er: 0.9 - 0.1 * i, f1: 0.2 + 0.1 * i,
      frameRecall: 0.5 + 0.05 * i, doaErrorDegrees: 80 - 8 * i, seldScore: i === 2 ? null : 0.7 - 0.05 * i,
    }))
    const png = drawTrainingCurves(records).png()
    expect(pngSize(png)).toEqual({width: 1200, height: 800})
    expect(await distinctColours(png)).toBeGreaterThan(6)
  })
})

describe('drawRecording', () => {
  const classNames = ['knock', 'speech', 'phone']
  const frames = 400
  const K = classNames.length
  const tracks = (noise: number) => {
    const sed = new Float32Array(frames * K)
    const doa = new Float32Array(frames * 3 * K)
    for (let f = 0; f < frames; f++) {
      for (let k = 0; k < K; k++) {
        const on = Math.floor(f / 50) % K === k
        sed[f * K + k] = on ? 1 - noise : noise
        const azimuth = ((-120 + 100 * k + f * 0.1) * Math.PI) / 180
        const elevation = ((-30 + 30 * k) * Math.PI) / 180
        doa[f * 3 * K + k] = Math.cos(elevation) * Math.cos(azimuth)
        doa[f * 3 * K + K + k] = Math.cos(elevation) * Math.sin(azimuth)
        doa[f * 3 * K + 2 * K + k] = Math.sin(elevation)
      }
    }
    return {sed, doa}
  }
  const spectrogram = {frames, bins: 64, values: Float32Array.from({length: frames * 64}, (_, i) => Math.sin(i / 97) + ((i % 64) / 64))}

  it('draws spectrogram, SED and DOA panels for reference and prediction', async () => {
    const figure = drawRecording({
      title: 'test_0', framesPerSecond: 50, classNames, spectrogram, prediction: tracks(0.2), reference: tracks(0), threshold: 0.5, aziOnly: false,
    })
    const png = figure.png()
    expect(pngSize(png)).toEqual({width: 1400, height: 40 + 230 + 150 + 2 * 230})
    expect(await distinctColours(png)).toBeGreaterThan(20)
  })

  it('draws only the prediction, and no elevation row for azimuth-only models', () => {
    const {sed, doa} = tracks(0.1)
    const aziDoa = doa.filter((_, i) => i % (3 * K) < 2 * K)
    const png = drawRecording({
      title: 'prediction', framesPerSecond: 50, classNames, spectrogram, prediction: {sed, doa: aziDoa}, threshold: 0.5, aziOnly: true,
    }).png()
    expect(pngSize(png)).toEqual({width: 1400, height: 40 + 230 + 150 + 230})
  })
})

/** Longest horizontal run of pixels within 60 (RGB distance) of `colour`, and how many there are, in rows from … to. */
async function longestRuns(bytes: Buffer, colour: [number, number, number], rows?: {from: number; to: number}): Promise<{horizontal: number; pixels: number}> {
  const {loadImage, createCanvas} = await import('@napi-rs/canvas')
  const image = await loadImage(bytes)
  const canvas = createCanvas(image.width, image.height)
  const ctx = canvas.getContext('2d')
  ctx.drawImage(image, 0, 0)
  const {data, width, height} = ctx.getImageData(0, 0, image.width, image.height)
  const near = (x: number, y: number) => {
    const i = 4 * (y * width + x)
    return Math.hypot(data[i] - colour[0], data[i + 1] - colour[1], data[i + 2] - colour[2]) < 60
  }
  let horizontal = 0
  let pixels = 0
  for (let y = rows?.from ?? 0; y < (rows?.to ?? height); y++) {
    let run = 0
    for (let x = 0; x < width; x++) {
      horizontal = Math.max(horizontal, (run = near(x, y) ? run + 1 : 0))
      if (run > 0) pixels++
    }
  }
  return {horizontal, pixels}
}

describe('tracks in drawRecording', () => {
  it('joins consecutive active frames, breaking at gaps, jumps and azimuth wraps, and marks each start', () => {
    const time = [0, 1, 2, 3, 4, 5, 6, 7]
    const azimuth = [170, 178, -176, NaN, 10, 20, 180, NaN]
    const elevation = [0, 0, 0, NaN, 30, 30, 60, NaN]
    const track = trackLines(time, {azimuth, elevation}, 'azimuth')
    // 178° → −176° is a 6° step across the wrap: the same track, its line broken; 20°, 30° → 180°, 60° is a jump.
    expect(track.x).toEqual([NaN, 0, 1, NaN, 2, NaN, 4, 5, NaN, 6])
    expect(track.y).toEqual([NaN, 170, 178, NaN, -176, NaN, 10, 20, NaN, 180])
    // The lone frame at 6 s gets no start marker.
    expect([track.startX, track.startY]).toEqual([[0, 4], [170, 10]])
    // Elevation never wraps.
    const up = trackLines([0, 1, 2], {azimuth: [0, 0, 0], elevation: [80, 89, 80]}, 'elevation')
    expect(up.x).toEqual([NaN, 0, 1, 2])
    expect(up.startX).toEqual([0])
  })

  // Few frames over a wide panel: single frames are 3-pixel dots far apart; only track lines join them.
  const frames = 40
  const picture = (azimuthOf: (f: number) => number) => {
    const sed = new Float32Array(frames).fill(1)
    const doa = new Float32Array(frames * 3)
    for (let f = 0; f < frames; f++) {
      doa[f * 3] = Math.cos((azimuthOf(f) * Math.PI) / 180)
      doa[f * 3 + 1] = Math.sin((azimuthOf(f) * Math.PI) / 180)
    }
    return drawRecording({
      title: 'track', framesPerSecond: 4, classNames: ['knock'], threshold: 0.5, aziOnly: false,
      spectrogram: {frames, bins: 8, values: new Float32Array(frames * 8)}, prediction: {sed, doa},
    }).png()
  }
  const blue: [number, number, number] = [0x1f, 0x77, 0xb4]

  it('draws a track as a line across the panel', async () => {
    const {horizontal} = await longestRuns(picture(() => 30), blue)
    expect(horizontal).toBeGreaterThan(800)
  })

  it('does not draw a source moving across ±180° as a line through the whole azimuth range', async () => {
    // The azimuth panel spans rows 414 … 644 of this figure (title 34, spectrogram 230, one-class SED 150); its
    // middle rows show azimuths near 0°, which this source never takes.
    const middle = (png: Buffer) => longestRuns(png, blue, {from: 500, to: 560})
    const crossing = await middle(picture((f) => 170 + f * 0.5))
    expect(crossing.pixels).toBe(0)
    // …while a track through 0° does show there.
    expect((await middle(picture((f) => -20 + f))).pixels).toBeGreaterThan(10)
  })
})
