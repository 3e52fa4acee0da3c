import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeNpy, encodeNpy, readNpy, readNpyHeader, writeNpy} from '../../src/seld/io/npy.js'
import {useWorkDir} from '../work-dir.js'

/** A .npy file as numpy writes it: magic, version, little-endian header length, header, values. */
function numpyFile(header: string, body: Uint8Array, major = 1): Uint8Array {
  const lengthBytes = major === 1 ? 2 : 4
  const prefix = 6 + 2 + lengthBytes
  const padded = header + ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n'
  const out = new Uint8Array(prefix + padded.length + body.length)
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), major, 0])
  const view = new DataView(out.buffer)
  if (major === 1) view.setUint16(8, padded.length, true)
  else view.setUint32(8, padded.length, true)
  out.set(new TextEncoder().encode(padded), prefix)
  out.set(body, prefix + padded.length)
  return out
}

const bytesOf = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength)

const work = useWorkDir('seld-npy-')

describe('encodeNpy', () => {
  it('writes the numpy 1.0 format: 64-byte aligned header describing little-endian float32 in C order', () => {
    const bytes = encodeNpy({shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6])})
    const headerLength = new DataView(bytes.buffer).getUint16(8, true)
    expect((10 + headerLength) % 64).toBe(0)
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength))
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/)
    expect(Array.from(new Float32Array(bytes.slice(10 + headerLength).buffer))).toEqual([1, 2, 3, 4, 5, 6])
    expect(new TextDecoder().decode(encodeNpy({shape: [4], data: new Float32Array(4)}).subarray(10, 70))).toContain("'shape': (4,)")
  })

  it('refuses data that does not fill its shape', () => {
    expect(() => encodeNpy({shape: [2, 2], data: new Float32Array(3)})).toThrow('shape [2,2] holds 4 values, data has 3')
  })
})

describe('decodeNpy', () => {
  it('reads float, integer and bool arrays as float32, in versions 1 and 2', () => {
    expect(decodeNpy(numpyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytesOf(Float64Array.from([0.5, -2, 1e10]))), 'f8')).toEqual({shape: [3], data: Float32Array.from([0.5, -2, 1e10])})
    expect(decodeNpy(numpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1), }", bytesOf(Int32Array.from([-7, 9]))), 'i4')).toEqual({shape: [2, 1], data: Float32Array.from([-7, 9])})
    expect(decodeNpy(numpyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", bytesOf(BigInt64Array.from([-3n, 4n]))), 'i8').data).toEqual(Float32Array.from([-3, 4]))
    expect(decodeNpy(numpyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.from([1, 0, 1])), 'b1').data).toEqual(Float32Array.from([1, 0, 1]))
    expect(decodeNpy(numpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", bytesOf(Float32Array.from([1, 2])), 2), 'v2').data).toEqual(Float32Array.from([1, 2]))
  })

  it('round-trips what encodeNpy writes', () => {
    const array = {shape: [3, 2, 2], data: Float32Array.from({length: 12}, (_, i) => i / 3 - 1)}
    expect(decodeNpy(encodeNpy(array), 'x')).toEqual(array)
  })

  it('names the file when it refuses one', () => {
    const body = bytesOf(Float32Array.from([1, 2, 3]))
    expect(() => decodeNpy(new TextEncoder().encode('not numpy at all'), 'a.npy')).toThrow('a.npy: not a .npy file')
    expect(() => decodeNpy(numpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", body), 'b.npy')).toThrow('b.npy: truncated, shape (4) needs 16 bytes, file has 12')
    expect(() => decodeNpy(numpyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", body), 'c.npy')).toThrow('c.npy: Fortran-ordered arrays are not supported')
    expect(() => decodeNpy(numpyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", body), 'd.npy')).toThrow('d.npy: dtype >f4 is not supported')
    expect(() => decodeNpy(numpyFile("{'fortran_order': False}", body), 'e.npy')).toThrow('e.npy: unreadable .npy header')
    expect(() => decodeNpy(encodeNpy({shape: [8], data: new Float32Array(8)}).subarray(0, 40), 'f.npy')).toThrow('f.npy: truncated .npy header')
  })
})

describe('writeNpy and readNpy', () => {
  it('write the same bytes as encodeNpy, leaving no temporary file', () => {
    const array = {shape: [5, 4], data: Float32Array.from({length: 20}, (_, i) => Math.sin(i))}
    const file = path.join(work(), 'a.npy')
    writeNpy(file, array)
    expect(new Uint8Array(readFileSync(file))).toEqual(encodeNpy(array))
    expect(readNpy(file)).toEqual(array)
    expect(readdirSync(work())).toEqual(['a.npy'])
  })

  it('write a view into a larger buffer as just its values', () => {
    const backing = Float32Array.from({length: 10}, (_, i) => i)
    writeNpy(path.join(work(), 'view.npy'), {shape: [3], data: backing.subarray(4, 7)})
    expect(Array.from(readNpy(path.join(work(), 'view.npy')).data)).toEqual([4, 5, 6])
  })

  it('keep the previous file when the new array is refused', () => {
    const file = path.join(work(), 'kept.npy')
    writeNpy(file, {shape: [1], data: Float32Array.from([7])})
    expect(() => writeNpy(file, {shape: [2], data: new Float32Array(1)})).toThrow(/holds 2 values/)
    expect(Array.from(readNpy(file).data)).toEqual([7])
    expect(readdirSync(work())).toEqual(['kept.npy'])
  })

  it('readNpyHeader finds the values without reading them and refuses a short file', () => {
    const file = path.join(work(), 'h.npy')
    writeNpy(file, {shape: [2, 3], data: new Float32Array(6)})
    expect(readNpyHeader(file)).toEqual({shape: [2, 3], descr: '<f4', dataOffset: 128, itemSize: 4})
    writeFileSync(file, encodeNpy({shape: [2, 3], data: new Float32Array(6)}).subarray(0, 140))
    expect(() => readNpyHeader(file)).toThrow(`${file}: truncated, shape (2,3) needs 152 bytes, file has 140`)
  })
})
