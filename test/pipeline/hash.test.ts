import {statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {contentAt, Hasher, manifestHash, memoEntryFor, sha256, type HashMemo, type MemoEntry} from '../../src/pipeline/state/hash.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

function mapMemo(): HashMemo & {entries: Map<string, MemoEntry>} {
  const entries = new Map<string, MemoEntry>()
  return {entries, get: (path) => entries.get(path), set: (path, entry) => void entries.set(path, entry)}
}

describe('Hasher', () => {
  it('hashes a file by content, and a folder by its sorted manifest', async () => {
    const dir = tempDir({'d/b.txt': 'bee', 'd/a/x.txt': 'ex', 'f.txt': 'eff'})
    const hasher = new Hasher(mapMemo())
    expect(await hasher.hashPath(join(dir, 'f.txt'))).toMatchObject({type: 'file', hash: sha256('eff'), size: 3})
    const folder = await hasher.hashPath(join(dir, 'd'))
    expect(folder?.type).toBe('dir')
    if (folder?.type !== 'dir') return
    expect(folder.entries.map((entry) => [entry.path, entry.hash])).toEqual([
      ['a/x.txt', sha256('ex')],
      ['b.txt', sha256('bee')],
    ])
    expect(folder.hash).toBe(manifestHash(folder.entries))
    expect(await hasher.hashPath(join(dir, 'missing'))).toBeUndefined()
  })

  it('a rename inside a folder changes its hash', async () => {
    const one = tempDir({'d/a.txt': 'same'})
    const two = tempDir({'d/b.txt': 'same'})
    const hasher = new Hasher(mapMemo())
    expect((await hasher.hashPath(join(one, 'd')))!.hash).not.toBe((await hasher.hashPath(join(two, 'd')))!.hash)
  })

  it('trusts the memo while size, mtime and inode match, and rereads when mtime changes', async () => {
    const dir = tempDir({'f.txt': 'one'})
    const file = join(dir, 'f.txt')
    const memo = mapMemo()
    // A memo entry for the file's current stat with a different hash proves the content is not reread.
    memo.set(file, memoEntryFor(statSync(file, {bigint: true}), 'remembered'))
    const hasher = new Hasher(memo)
    expect((await hasher.hashPath(file))!.hash).toBe('remembered')
    writeFileSync(file, 'two')
    utimesSync(file, new Date(), new Date(Date.now() + 5000))
    expect((await hasher.hashPath(file))!.hash).toBe(sha256('two'))
    expect(memo.entries.get(file)!.hash).toBe(sha256('two'))
  })

  it('hashes a large file in chunks to the same digest', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 9)
    const dir = tempDir()
    writeFileSync(join(dir, 'big.bin'), big)
    expect((await new Hasher(mapMemo()).hashPath(join(dir, 'big.bin')))!.hash).toBe(sha256(big))
  })
})

describe('contentAt', () => {
  it('finds a file or a subfolder inside a hashed folder without touching disk', async () => {
    const dir = tempDir({'d/sub/a.txt': 'a', 'd/sub/b.txt': 'b', 'd/c.txt': 'c'})
    const hasher = new Hasher(mapMemo())
    const whole = (await hasher.hashPath(join(dir, 'd')))!
    expect(contentAt(whole, 'c.txt')?.hash).toBe(sha256('c'))
    expect(contentAt(whole, 'sub')?.hash).toBe((await hasher.hashPath(join(dir, 'd', 'sub')))!.hash)
    expect(contentAt(whole, 'nothing')).toBeUndefined()
    expect(contentAt(whole, '')).toBe(whole)
  })
})
