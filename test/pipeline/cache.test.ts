import {chmodSync, existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Cache, CorruptObjectError} from '../../src/pipeline/state/cache.js'
import {Hasher} from '../../src/pipeline/state/hash.js'
import {acquireLock, lockHolder} from '../../src/pipeline/state/lock.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

describe('Cache', () => {
  it('stores outs content-addressed and restores them byte for byte, modes included', async () => {
    const dir = tempDir({'out/a.txt': 'alpha', 'out/sub/b.sh': '#!/bin/sh\n', 'one.txt': 'single'})
    const cache = new Cache(join(dir, 'cache'))
    try {
      const hasher = new Hasher(cache.memo)
      const folder = (await hasher.hashPath(join(dir, 'out')))!
      const file = (await hasher.hashPath(join(dir, 'one.txt')))!
      await cache.storeOut(join(dir, 'out'), folder)
      await cache.storeOut(join(dir, 'one.txt'), file)
      expect(cache.hasObjects(folder) && cache.hasObjects(file)).toBe(true)
      rmSync(join(dir, 'out'), {recursive: true})
      writeFileSync(join(dir, 'one.txt'), 'edited')
      await cache.restoreOut(join(dir, 'out'), folder)
      await cache.restoreOut(join(dir, 'one.txt'), file)
      expect(readFileSync(join(dir, 'out/sub/b.sh'), 'utf8')).toBe('#!/bin/sh\n')
      expect(readFileSync(join(dir, 'one.txt'), 'utf8')).toBe('single')
      expect((await hasher.hashPath(join(dir, 'out')))!.hash).toBe(folder.hash)
      expect(existsSync(join(dir, 'out.seldpipe-restore'))).toBe(false)
    } finally {
      await cache.close()
    }
  })

  it('restoring checks every file: a corrupt object is deleted, CorruptObjectError names it, the out is left as it was', async () => {
    const dir = tempDir({'out/a.txt': 'alpha', 'out/b.txt': 'beta'})
    const cache = new Cache(join(dir, 'cache'))
    try {
      const folder = (await new Hasher(cache.memo).hashPath(join(dir, 'out')))!
      await cache.storeOut(join(dir, 'out'), folder)
      const object = cache.objectPath(folder.type === 'dir' ? folder.entries[1].hash : '')
      chmodSync(object, 0o644)
      writeFileSync(object, 'bets')
      writeFileSync(join(dir, 'out/a.txt'), 'edited')
      await expect(cache.restoreOut(join(dir, 'out'), folder)).rejects.toThrow(new CorruptObjectError(object))
      expect(existsSync(object)).toBe(false)
      expect(cache.hasObjects(folder)).toBe(false)
      expect(readFileSync(join(dir, 'out/a.txt'), 'utf8')).toBe('edited')
      expect(existsSync(join(dir, 'out.seldpipe-restore'))).toBe(false)
    } finally {
      await cache.close()
    }
  })

  it('stores the same content from instances finishing at once as one object', async () => {
    const files = Object.fromEntries(Array.from({length: 4}, (_, index) => [`out${index}.txt`, 'same']))
    const dir = tempDir(files)
    const cache = new Cache(join(dir, 'cache'))
    try {
      const hasher = new Hasher(cache.memo)
      const contents = await Promise.all(Object.keys(files).map(async (name) => ({path: join(dir, name), content: (await hasher.hashPath(join(dir, name)))!})))
      await Promise.all(contents.map(({path, content}) => cache.storeOut(path, content)))
      expect(cache.hasObjects(contents[0].content)).toBe(true)
    } finally {
      await cache.close()
    }
  })

  it('commits the key record and the instance record together, readable by a second process handle', async () => {
    const dir = tempDir()
    const writer = new Cache(join(dir, 'cache'))
    const outs = [{path: 'x.txt', content: {type: 'file' as const, hash: 'h', size: 1, executable: false}}]
    await writer.commit('s@d=1', 'key1', {key: 'key1', argv: ['a'], deps: {}, params: {p: 1}, upstream: {}}, outs)
    await writer.close()
    const reader = new Cache(join(dir, 'cache'))
    try {
      expect(reader.keyRecord('key1')).toMatchObject({id: 's@d=1', outs})
      expect(reader.instanceRecord('s@d=1')).toMatchObject({key: 'key1', params: {p: 1}})
      expect(reader.keyRecord('other')).toBeUndefined()
    } finally {
      await reader.close()
    }
  })
})

describe('run lock', () => {
  it('is exclusive, released on demand, and taken over from a dead holder', async () => {
    const dir = tempDir()
    const file = join(dir, 'lock')
    const release = await acquireLock(file, () => undefined)
    expect(lockHolder(file)?.pid).toBe(process.pid)
    let waited = false
    const controller = new AbortController()
    const second = acquireLock(file, () => {
      waited = true
      controller.abort()
    }, controller.signal)
    await expect(second).rejects.toThrow()
    expect(waited).toBe(true)
    await release()
    expect(existsSync(file)).toBe(false)
    // A holder on this host whose process is gone: taken over without waiting.
    writeFileSync(file, JSON.stringify({pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), startedAt: 'then'}))
    expect(lockHolder(file)).toBeUndefined()
    const again = await acquireLock(file, () => {
      throw new Error('must not wait for a dead holder')
    })
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid)
    await again()
  })
})
