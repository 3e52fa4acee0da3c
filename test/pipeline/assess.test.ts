import {describe, expect, it} from 'vitest'
import {canonicalJson, codeChanges, formatReason, paramChanges} from '../../src/pipeline/run/assess.js'

describe('canonicalJson', () => {
  it('ignores key order', () => {
    expect(canonicalJson({b: 1, a: {d: 2, c: [3, {f: 1, e: 2}]}})).toBe(canonicalJson({a: {c: [3, {e: 2, f: 1}], d: 2}, b: 1}))
  })
})

describe('paramChanges', () => {
  it('names each changed leaf of a listed subtree, with old and new values', () => {
    const before = {epochs: 40, backend: 'auto', sizes: [8, 8], nested: {a: 1}}
    const after = {epochs: 5, backend: 'auto', sizes: [8, 2], nested: {a: 1, b: true}}
    const changes = paramChanges('train', before, after)
    expect(changes).toEqual([
      {kind: 'param changed', key: 'train.epochs', old: 40, new: 5},
      {kind: 'param changed', key: 'train.sizes', old: [8, 8], new: [8, 2]},
      {kind: 'param changed', key: 'train.nested.b', old: undefined, new: true},
    ])
    expect(changes.map(formatReason)).toEqual(['param changed: train.epochs 40 → 5', 'param changed: train.sizes [8,8] → [8,2]', 'param changed: train.nested.b (none) → true'])
    expect(paramChanges('train', before, structuredClone(before))).toEqual([])
    expect(paramChanges('features.nfft', 512, 1024).map(formatReason)).toEqual(['param changed: features.nfft 512 → 1024'])
  })
})

describe('codeChanges', () => {
  it('names the changed module, the package with its versions and the Node major, with text made from them', () => {
    const before = {modules: {'dist/a.js': 'h1', 'dist/b.js': 'h2'}, packages: {yaml: '2.9.1', lmdb: '3.5.6'}, node: 20}
    const after = {modules: {'dist/a.js': 'h1', 'dist/b.js': 'h3', 'dist/c.js': 'h4'}, packages: {yaml: '2.9.2', lmdb: '3.5.6'}, node: 22}
    const changes = codeChanges(before, after)
    expect(changes).toEqual([
      {kind: 'code changed', path: 'dist/b.js'},
      {kind: 'code changed', path: 'dist/c.js'},
      {kind: 'package changed', key: 'yaml', old: '2.9.1', new: '2.9.2'},
      {kind: 'node changed', old: 20, new: 22},
    ])
    expect(changes.map(formatReason)).toEqual(['code changed: dist/b.js', 'code changed: dist/c.js', 'package changed: yaml "2.9.1" → "2.9.2"', 'node changed: 20 → 22'])
    expect(codeChanges(before, structuredClone(before))).toEqual([])
  })
})
