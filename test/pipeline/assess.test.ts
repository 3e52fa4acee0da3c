import {describe, expect, it} from 'vitest'
import {canonicalJson, paramChanges} from '../../src/pipeline/run/assess.js'

describe('canonicalJson', () => {
  it('ignores key order', () => {
    expect(canonicalJson({b: 1, a: {d: 2, c: [3, {f: 1, e: 2}]}})).toBe(canonicalJson({a: {c: [3, {e: 2, f: 1}], d: 2}, b: 1}))
  })
})

describe('paramChanges', () => {
  it('names each changed leaf of a listed subtree, with old and new values', () => {
    const before = {epochs: 40, backend: 'auto', sizes: [8, 8], nested: {a: 1}}
    const after = {epochs: 5, backend: 'auto', sizes: [8, 2], nested: {a: 1, b: true}}
    expect(paramChanges('train', before, after)).toEqual(['train.epochs 40 → 5', 'train.sizes [8,8] → [8,2]', 'train.nested.b (none) → true'])
    expect(paramChanges('train', before, structuredClone(before))).toEqual([])
    expect(paramChanges('features.nfft', 512, 1024)).toEqual(['features.nfft 512 → 1024'])
  })
})
