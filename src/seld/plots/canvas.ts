/**
 * A small canvas drawing toolkit on @napi-rs/canvas, knowing nothing of SELD: a Figure holds Axes (a plot area with
 * ticks, labels and a title) that draw heat maps, lines and points, and is written as PNG. figures.ts composes them
 * into the pictures of the evaluate stage and `seldpipe predict`.
 */
import {createCanvas, type Canvas, type SKRSContext2D} from '@napi-rs/canvas'
import {writeFileAtomically} from '../io/atomic-files.js'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** Distinct colours for classes and series (matplotlib's tab10, then two more for 11- and 12-class sets). */
export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000080', '#808000']

export const seriesColor = (index: number) => SERIES_COLORS[index % SERIES_COLORS.length]

const FONT = 'sans-serif'
const TEXT_COLOR = '#222222'
const GRID_COLOR = '#e4e4e4'

// Viridis sampled at 9 points, interpolated linearly: close enough to matplotlib's for reading a heat map.
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
]

/** Viridis colour of t in [0, 1] (clamped), as [r, g, b]. */
export function viridis(t: number): [number, number, number] {
  const position = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1)
  const i = Math.min(VIRIDIS.length - 2, Math.floor(position))
  const f = position - i
  return [0, 1, 2].map((c) => Math.round(VIRIDIS[i][c] + f * (VIRIDIS[i + 1][c] - VIRIDIS[i][c]))) as [number, number, number]
}

/** Round tick values (steps of 1, 2, 2.5 or 5 × 10^n) covering [min, max] with about `count` ticks. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min]
  const raw = (max - min) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude
  const ticks: number[] = []
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)))
}

/** Low and high percentiles of finite values: a heat-map colour range that ignores a few outliers. */
export function percentileRange(values: ArrayLike<number>, low = 0.02, high = 0.98): [number, number] {
  const sorted = Float64Array.from(Array.prototype.filter.call(values, Number.isFinite) as number[]).sort()
  if (sorted.length === 0) return [0, 1]
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  const [lo, hi] = [at(low), at(high)]
  return hi > lo ? [lo, hi] : [lo, lo + 1]
}

export interface AxesOptions {
  title?: string
  xLabel?: string
  yLabel?: string
  /** Data range shown along x and y. */
  x: [number, number]
  y: [number, number]
  xTicks?: number[]
  yTicks?: number[]
  /** Text at each y tick instead of its value (e.g. class names at 0.5, 1.5, ...). */
  yTickLabels?: string[]
  /** Light grid lines at the ticks. */
  grid?: boolean
  /** Pixels left of the plot area for tick labels (default: fitted to them); equal values align stacked axes. */
  left?: number
}

export interface SeriesStyle {
  color?: string
  /** Line width, or point diameter, in pixels. */
  width?: number
  /** Shown in the legend when given. */
  label?: string
}

/** A plot area inside a figure: maps data to pixels and draws axes around it. */
export class Axes {
  /** Where the data goes, in pixels (the rest of the rect holds ticks, labels and the title). */
  readonly area: Rect
  private readonly legendEntries: {label: string; color: string; kind: 'line' | 'point'}[] = []

  constructor(private readonly ctx: SKRSContext2D, private readonly rect: Rect, private readonly options: AxesOptions) {
    const left = options.left ?? Axes.leftMargin(ctx, options)
    const top = options.title ? 24 : 8
    const bottom = 22 + (options.xLabel ? 18 : 0)
    this.area = {x: rect.x + left, y: rect.y + top, width: rect.width - left - 12, height: rect.height - top - bottom}
    this.drawFrame()
  }

  /** Room the tick labels and y label of `options` need left of the plot area. */
  static leftMargin(ctx: SKRSContext2D, options: Pick<AxesOptions, 'yTickLabels' | 'yLabel'>): number {
    ctx.font = `11px ${FONT}`
    const labelWidth = Math.max(...(options.yTickLabels ?? ['-000']).map((label) => ctx.measureText(label).width))
    return Math.ceil(14 + labelWidth + (options.yLabel ? 20 : 0))
  }

  private textWidth(text: string, size: number): number {
    this.ctx.font = `${size}px ${FONT}`
    return this.ctx.measureText(text).width
  }

  /** Pixel column of data value x. */
  px(x: number): number {
    const [x0, x1] = this.options.x
    return this.area.x + ((x - x0) / (x1 - x0)) * this.area.width
  }

  /** Pixel row of data value y (larger values higher up). */
  py(y: number): number {
    const [y0, y1] = this.options.y
    return this.area.y + this.area.height - ((y - y0) / (y1 - y0)) * this.area.height
  }

  private text(text: string, x: number, y: number, options: {size?: number; align?: 'left' | 'center' | 'right'; baseline?: 'top' | 'middle' | 'bottom'; bold?: boolean; rotate?: boolean} = {}) {
    const {ctx} = this
    ctx.save()
    ctx.fillStyle = TEXT_COLOR
    ctx.font = `${options.bold ? 'bold ' : ''}${options.size ?? 11}px ${FONT}`
    ctx.textAlign = options.align ?? 'center'
    ctx.textBaseline = options.baseline ?? 'middle'
    ctx.translate(x, y)
    if (options.rotate) ctx.rotate(-Math.PI / 2)
    ctx.fillText(text, 0, 0)
    ctx.restore()
  }

  private drawFrame() {
    const {ctx, area, options} = this
    const xTicks = options.xTicks ?? niceTicks(options.x[0], options.x[1], Math.max(2, Math.round(area.width / 90)))
    const yTicks = options.yTicks ?? niceTicks(options.y[0], options.y[1], Math.max(2, Math.round(area.height / 40)))
    ctx.save()
    ctx.lineWidth = 1
    for (const tick of xTicks) {
      const x = Math.round(this.px(tick)) + 0.5
      if (options.grid) this.segment(x, area.y, x, area.y + area.height, GRID_COLOR)
      this.segment(x, area.y + area.height, x, area.y + area.height + 4, TEXT_COLOR)
      this.text(formatTick(tick), x, area.y + area.height + 13)
    }
    yTicks.forEach((tick, i) => {
      const y = Math.round(this.py(tick)) + 0.5
      if (options.grid) this.segment(area.x, y, area.x + area.width, y, GRID_COLOR)
      this.segment(area.x - 4, y, area.x, y, TEXT_COLOR)
      this.text(options.yTickLabels?.[i] ?? formatTick(tick), area.x - 7, y, {align: 'right'})
    })
    ctx.strokeStyle = TEXT_COLOR
    ctx.strokeRect(area.x + 0.5, area.y + 0.5, area.width, area.height)
    ctx.restore()
    if (options.title) this.text(options.title, area.x + area.width / 2, area.y - 12, {size: 13, bold: true})
    if (options.xLabel) this.text(options.xLabel, area.x + area.width / 2, area.y + area.height + 31)
    if (options.yLabel) this.text(options.yLabel, this.rect.x + 9, area.y + area.height / 2, {rotate: true})
  }

  private segment(x0: number, y0: number, x1: number, y1: number, color: string) {
    const {ctx} = this
    ctx.strokeStyle = color
    ctx.beginPath()
    ctx.moveTo(x0, y0)
    ctx.lineTo(x1, y1)
    ctx.stroke()
  }

  /** Runs `draw` with drawing restricted to the plot area. */
  private clipped(draw: () => void) {
    const {ctx, area} = this
    ctx.save()
    ctx.beginPath()
    ctx.rect(area.x, area.y, area.width, area.height)
    ctx.clip()
    draw()
    ctx.restore()
  }

  /**
   * A heat map of an nx × ny grid whose cell (i, j) has value(i, j), filling data x from `extent.x[0]` to
   * `extent.x[1]` and y likewise (default: the axes ranges). Colours map `range` (default: min to max) to viridis.
   */
  heatmap(nx: number, ny: number, value: (i: number, j: number) => number, style: {range?: [number, number]; extent?: {x: [number, number]; y: [number, number]}; colormap?: (t: number) => [number, number, number]} = {}) {
    const extent = style.extent ?? {x: this.options.x, y: this.options.y}
    const [left, right] = [this.px(extent.x[0]), this.px(extent.x[1])]
    const [top, bottom] = [this.py(extent.y[1]), this.py(extent.y[0])]
    // Cells are averaged down to at most one per pixel, then drawn without smoothing so class rows stay sharp.
    const width = Math.max(1, Math.min(nx, Math.round(right - left)))
    const height = Math.max(1, Math.min(ny, Math.round(bottom - top)))
    const values = new Float64Array(width * height)
    for (let c = 0; c < width; c++) {
      const [i0, i1] = [Math.floor((c * nx) / width), Math.floor(((c + 1) * nx) / width)]
      for (let r = 0; r < height; r++) {
        const [j0, j1] = [Math.floor((r * ny) / height), Math.floor(((r + 1) * ny) / height)]
        let sum = 0
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) sum += value(i, j)
        values[r * width + c] = sum / ((i1 - i0) * (j1 - j0))
      }
    }
    let [lo, hi] = style.range ?? [Infinity, -Infinity]
    if (!style.range) for (const v of values) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)]
    if (!(hi > lo)) hi = lo + 1
    const colormap = style.colormap ?? viridis
    const image = createCanvas(width, height)
    const imageCtx = image.getContext('2d')
    const pixels = imageCtx.createImageData(width, height)
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const [red, green, blue] = colormap((values[r * width + c] - lo) / (hi - lo))
        // Row 0 of the data is at the bottom of the picture.
        const p = ((height - 1 - r) * width + c) * 4
        pixels.data[p] = red
        pixels.data[p + 1] = green
        pixels.data[p + 2] = blue
        pixels.data[p + 3] = 255
      }
    }
    imageCtx.putImageData(pixels, 0, 0)
    this.clipped(() => {
      this.ctx.imageSmoothingEnabled = false
      this.ctx.drawImage(image as unknown as Canvas, left, top, right - left, bottom - top)
    })
    this.redrawBorder()
  }

  private redrawBorder() {
    this.ctx.strokeStyle = TEXT_COLOR
    this.ctx.lineWidth = 1
    this.ctx.strokeRect(this.area.x + 0.5, this.area.y + 0.5, this.area.width, this.area.height)
  }

  /** A polyline through (xs[i], ys[i]); non-finite values break the line. */
  line(xs: ArrayLike<number>, ys: ArrayLike<number>, style: SeriesStyle & {dash?: number[]} = {}) {
    const color = style.color ?? seriesColor(this.legendEntries.length)
    this.clipped(() => {
      const {ctx} = this
      ctx.strokeStyle = color
      ctx.lineWidth = style.width ?? 1.5
      ctx.setLineDash(style.dash ?? [])
      ctx.beginPath()
      let drawing = false
      for (let i = 0; i < xs.length; i++) {
        if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) {
          drawing = false
          continue
        }
        if (drawing) ctx.lineTo(this.px(xs[i]), this.py(ys[i]))
        else ctx.moveTo(this.px(xs[i]), this.py(ys[i]))
        drawing = true
      }
      ctx.stroke()
      ctx.setLineDash([])
    })
    if (style.label) this.legendEntries.push({label: style.label, color, kind: 'line'})
  }

  /** A dot at each (xs[i], ys[i]) with finite coordinates. */
  points(xs: ArrayLike<number>, ys: ArrayLike<number>, style: SeriesStyle = {}) {
    const color = style.color ?? seriesColor(this.legendEntries.length)
    const size = style.width ?? 3
    this.clipped(() => {
      this.ctx.fillStyle = color
      for (let i = 0; i < xs.length; i++) {
        if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) continue
        this.ctx.fillRect(this.px(xs[i]) - size / 2, this.py(ys[i]) - size / 2, size, size)
      }
    })
    if (style.label) this.legendEntries.push({label: style.label, color, kind: 'point'})
  }

  /** A vertical marker line at data x, with an optional note at its top. */
  vline(x: number, style: {color?: string; note?: string} = {}) {
    const px = Math.round(this.px(x)) + 0.5
    this.ctx.save()
    this.ctx.setLineDash([4, 3])
    this.segment(px, this.area.y, px, this.area.y + this.area.height, style.color ?? '#888888')
    this.ctx.restore()
    if (!style.note) return
    // The note goes on the side of the line with more room.
    const right = px < this.area.x + this.area.width / 2
    this.text(style.note, right ? px + 5 : px - 5, this.area.y + 10, {align: right ? 'left' : 'right', size: 11})
  }

  /** A boxed legend of the labelled series, in the top-right corner of the plot area (or outside it, to the right). */
  legend(placement: 'inside' | 'right' = 'inside') {
    if (this.legendEntries.length === 0) return
    const {ctx, area} = this
    const width = 30 + Math.max(...this.legendEntries.map((e) => this.textWidth(e.label, 11)))
    const height = 8 + 16 * this.legendEntries.length
    const x = placement === 'inside' ? area.x + area.width - width - 6 : area.x + area.width + 8
    const y = area.y + 6
    ctx.save()
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)'
    ctx.fillRect(x, y, width, height)
    ctx.strokeStyle = '#aaaaaa'
    ctx.strokeRect(x + 0.5, y + 0.5, width, height)
    this.legendEntries.forEach((entry, i) => {
      const cy = y + 12 + 16 * i
      ctx.fillStyle = entry.color
      if (entry.kind === 'line') ctx.fillRect(x + 6, cy - 1, 16, 3)
      else ctx.fillRect(x + 11, cy - 3, 6, 6)
      this.text(entry.label, x + 26, cy, {align: 'left'})
    })
    ctx.restore()
  }
}

/** A white canvas of fixed size holding axes; written as PNG. */
export class Figure {
  readonly canvas: Canvas
  readonly ctx: SKRSContext2D

  constructor(readonly width: number, readonly height: number) {
    this.canvas = createCanvas(width, height)
    this.ctx = this.canvas.getContext('2d')
    this.ctx.fillStyle = 'white'
    this.ctx.fillRect(0, 0, width, height)
  }

  axes(rect: Rect, options: AxesOptions): Axes {
    return new Axes(this.ctx, rect, options)
  }

  /** A bold line of text centred at the top of the figure. */
  title(text: string) {
    this.ctx.fillStyle = TEXT_COLOR
    this.ctx.font = `bold 16px ${FONT}`
    this.ctx.textAlign = 'center'
    this.ctx.textBaseline = 'middle'
    this.ctx.fillText(text, this.width / 2, 16)
  }

  png(): Buffer {
    return this.canvas.toBuffer('image/png')
  }

  /** Writes the PNG atomically (temporary name, then rename). */
  save(file: string) {
    writeFileAtomically(file, this.png())
  }
}

/** Splits `rect` into a grid of `rows` × `columns` cells (row-major). */
export function grid(rect: Rect, rows: number, columns: number, gap = 8): Rect[] {
  const width = (rect.width - gap * (columns - 1)) / columns
  const height = (rect.height - gap * (rows - 1)) / rows
  const cells: Rect[] = []
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) cells.push({x: rect.x + c * (width + gap), y: rect.y + r * (height + gap), width, height})
  }
  return cells
}
