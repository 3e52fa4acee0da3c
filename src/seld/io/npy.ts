import {closeSync, fstatSync, openSync, readFileSync, readSync, writeSync} from 'node:fs'
import {writeFileAtomically} from './atomic-files.js'

/** An n-dimensional array in C order, as numpy stores it in .npy files. */
export interface NdArray {
  shape: number[]
  data: Float32Array
}

const MAGIC = '\x93NUMPY'
const DTYPES: Record<string, (bytes: Uint8Array, count: number) => Float32Array> = {
  '<f4': (b, n) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 4)),
  '<f8': (b, n) => Float32Array.from(new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8))),
  '<i8': (b, n) => Float32Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8)), Number),
  '<i4': (b, n) => Float32Array.from(new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 4))),
  '|u1': (b, n) => Float32Array.from(b.subarray(0, n)),
  '|b1': (b, n) => Float32Array.from(b.subarray(0, n)),
}
const ITEM_SIZE: Record<string, number> = {'<f4': 4, '<f8': 8, '<i8': 8, '<i4': 4, '|u1': 1, '|b1': 1}

/** The header of a version 1.0 .npy file of float32 values of this shape; the values follow it directly. */
export function encodeNpyHeader(shape: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`
  // Header padded with spaces so the data starts on a 64-byte boundary, ending in a newline.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n'
  const out = new Uint8Array(MAGIC.length + 4 + header.length)
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i)
  out[6] = 1
  out[7] = 0
  new DataView(out.buffer).setUint16(8, header.length, true)
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i)
  return out
}

/** Encodes a float32 array as a version 1.0 .npy file. */
export function encodeNpy(array: NdArray): Uint8Array {
  const header = headerOf(array)
  const out = new Uint8Array(header.length + array.data.byteLength)
  out.set(header)
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), header.length)
  return out
}

/** What a .npy header says: where the values start and how to read them. */
export interface NpyHeader {
  shape: number[]
  /** numpy dtype string, e.g. '<f4'. */
  descr: string
  /** Byte offset of the first value in the file. */
  dataOffset: number
}

/** Parses the header at the start of `bytes` (which may be only the first bytes of a file). `name` is used in errors. */
export function parseNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  const text = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (bytes.length < 10 || text(0, 6) !== MAGIC) throw new Error(`${name}: not a .npy file`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const major = bytes[6]
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const headerStart = major === 1 ? 10 : 12
  if (bytes.length < headerStart + headerLength) throw new Error(`${name}: truncated .npy header`)
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength))
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1]
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${name}: unreadable .npy header`)
  if (fortran === 'True') throw new Error(`${name}: Fortran-ordered arrays are not supported`)
  if (!DTYPES[descr]) throw new Error(`${name}: dtype ${descr} is not supported (float32, float64, int32, int64, uint8, bool are)`)
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number)
  return {shape, descr, dataOffset: headerStart + headerLength}
}

/** Decodes a C-order .npy file of float, int or bool values into float32. `name` is used in errors. */
export function decodeNpy(bytes: Uint8Array, name: string): NdArray {
  const {shape, descr, dataOffset} = parseNpyHeader(bytes, name)
  const count = shape.reduce((a, b) => a * b, 1)
  const body = bytes.subarray(dataOffset)
  if (body.length < count * ITEM_SIZE[descr]) throw new Error(`${name}: truncated, shape (${shape}) needs ${count * ITEM_SIZE[descr]} bytes, file has ${body.length}`)
  return {shape, data: DTYPES[descr](body, count)}
}

/** The header of `array`, checking that its shape and data agree. */
function headerOf(array: NdArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1)
  if (count !== array.data.length) throw new Error(`shape [${array.shape}] holds ${count} values, data has ${array.data.length}`)
  return encodeNpyHeader(array.shape)
}

/**
 * Writes atomically (temporary file, then rename) so a killed process never leaves a half-written array. Header and
 * values are written straight from the array: no second copy of a large array in memory.
 */
export function writeNpy(file: string, array: NdArray): void {
  const header = headerOf(array)
  writeFileAtomically(file, (temporary) => {
    // Header and values written straight from the array: no second copy of a large feature tensor.
    const fd = openSync(temporary, 'w')
    try {
      writeFully(fd, header)
      writeFully(fd, new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength))
    } finally {
      closeSync(fd)
    }
  })
}

function writeFully(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written)
}

export function readNpy(file: string): NdArray {
  return decodeNpy(readFileSync(file), file)
}

/**
 * Reads only the header of a .npy file, so callers can read runs of values at byte offsets without loading the file.
 * Also checks that the file is long enough for its shape.
 */
export function readNpyHeader(file: string): NpyHeader & {itemSize: number} {
  const fd = openSync(file, 'r')
  try {
    const probe = new Uint8Array(12)
    const probed = readSync(fd, probe, 0, 12, 0)
    if (probed < 10 || String.fromCharCode(...probe.subarray(0, 6)) !== MAGIC) throw new Error(`${file}: not a .npy file`)
    const view = new DataView(probe.buffer)
    const length = probe[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true)
    const bytes = new Uint8Array(Math.min(length, fstatSync(fd).size))
    const read = readSync(fd, bytes, 0, bytes.length, 0)
    const header = parseNpyHeader(bytes.subarray(0, read), file)
    const itemSize = ITEM_SIZE[header.descr]
    const needed = header.dataOffset + header.shape.reduce((a, b) => a * b, 1) * itemSize
    const size = fstatSync(fd).size
    if (size < needed) throw new Error(`${file}: truncated, shape (${header.shape}) needs ${needed} bytes, file has ${size}`)
    return {...header, itemSize}
  } finally {
    closeSync(fd)
  }
}
