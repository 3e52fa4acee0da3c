import {readFileSync, writeFileSync, renameSync} from 'node:fs'

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

/** Encodes a float32 array as a version 1.0 .npy file. */
export function encodeNpy(array: NdArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1)
  if (count !== array.data.length) throw new Error(`shape [${array.shape}] holds ${count} values, data has ${array.data.length}`)
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`
  // Header padded with spaces so the data starts on a 64-byte boundary, ending in a newline.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n'
  const out = new Uint8Array(MAGIC.length + 4 + header.length + array.data.byteLength)
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i)
  out[6] = 1
  out[7] = 0
  new DataView(out.buffer).setUint16(8, header.length, true)
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i)
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + header.length)
  return out
}

/** Decodes a C-order .npy file of float, int or bool values into float32. `name` is used in errors. */
export function decodeNpy(bytes: Uint8Array, name: string): NdArray {
  const text = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (bytes.length < 10 || text(0, 6) !== MAGIC) throw new Error(`${name}: not a .npy file`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const major = bytes[6]
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const headerStart = major === 1 ? 10 : 12
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength))
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1]
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${name}: unreadable .npy header`)
  if (fortran === 'True') throw new Error(`${name}: Fortran-ordered arrays are not supported`)
  const decode = DTYPES[descr]
  if (!decode) throw new Error(`${name}: dtype ${descr} is not supported (float32, float64, int32, int64, uint8, bool are)`)
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number)
  const count = shape.reduce((a, b) => a * b, 1)
  const body = bytes.subarray(headerStart + headerLength)
  if (body.length < count * ITEM_SIZE[descr]) throw new Error(`${name}: truncated, shape (${shape}) needs ${count * ITEM_SIZE[descr]} bytes, file has ${body.length}`)
  return {shape, data: decode(body, count)}
}

/** Writes atomically (temporary file, then rename) so a killed process never leaves a half-written array. */
export function writeNpy(file: string, array: NdArray): void {
  const temporary = `${file}.tmp-${process.pid}`
  writeFileSync(temporary, encodeNpy(array))
  renameSync(temporary, file)
}

export function readNpy(file: string): NdArray {
  return decodeNpy(readFileSync(file), file)
}
