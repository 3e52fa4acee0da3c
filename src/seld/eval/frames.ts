/** The frame-wise input every SELD metric takes, and its checks. */

/** Flat, row-major values as .npy files hold them (float64 keeps the published float64 arithmetic exact). */
export type Values = Float32Array | Float64Array

/**
 * Frame-wise system output and reference of one or many concatenated recordings.
 * Activity is 0 or 1 (threshold probabilities first). DOA rows hold the x of every class, then y, then z
 * (or only x then y when `aziOnly`).
 */
export interface SeldFrames {
  /** frames × classes activity. */
  sedPred: Values
  sedRef: Values
  /** frames × 3·classes, or frames × 2·classes when aziOnly. */
  doaPred: Values
  doaRef: Values
  frames: number
  classes: number
  aziOnly?: boolean
}

/** numpy's float64 eps, which the published code adds to denominators. */
export const EPS = 2.220446049250313e-16

/** Checks that the arrays hold `rows` rows of the declared widths and that activity is 0 or 1. */
export function checkFrames(input: SeldFrames, rows = input.frames): void {
  const {classes} = input
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`classes must be a positive integer, got ${classes}`)
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`frames must be a non-negative integer, got ${rows}`)
  const doaWidth = (input.aziOnly ? 2 : 3) * classes
  const expect = (name: string, values: Values, width: number) => {
    if (values.length !== rows * width) {
      throw new Error(`${name} holds ${values.length} values, expected ${rows} × ${width} = ${rows * width}`)
    }
  }
  expect('sedPred', input.sedPred, classes)
  expect('sedRef', input.sedRef, classes)
  expect('doaPred', input.doaPred, doaWidth)
  expect('doaRef', input.doaRef, doaWidth)
  checkActivity(input.sedPred, classes, 'sedPred')
  checkActivity(input.sedRef, classes, 'sedRef')
}

/** Throws, naming `name`, unless every activity value is 0 or 1. */
export function checkActivity(values: Values, classes: number, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== 0 && values[i] !== 1) {
      throw new Error(`${name} must hold only 0 and 1 (threshold the activity first): value ${values[i]} at row ${Math.floor(i / classes)}, class ${i % classes}`)
    }
  }
}
