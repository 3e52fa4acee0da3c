import {createHash} from 'node:crypto'
import {createReadStream, readdirSync, readFileSync, statSync, type BigIntStats} from 'node:fs'
import {join} from 'node:path'

/** What the memo remembers about a file: its content hash, valid while size, mtime and inode are unchanged. */
export interface MemoEntry {
  size: number
  mtimeNs: string
  ino: string
  hash: string
}

/** Content hashes memoised by absolute path; the LMDB cache index implements it, tests may use a Map. */
export interface HashMemo {
  get(path: string): MemoEntry | undefined
  set(path: string, entry: MemoEntry): void
}

export interface ManifestEntry {
  /** Relative to the folder, `/`-separated. */
  path: string
  hash: string
  size: number
  executable: boolean
}

export type ContentHash =
  | {type: 'file'; hash: string; size: number; executable: boolean}
  | {type: 'dir'; hash: string; entries: ManifestEntry[]}

const SMALL_FILE = 1 << 20

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A folder's hash: of its sorted manifest of relative path and content hash, so renames and edits both change it. */
export function manifestHash(entries: readonly ManifestEntry[]): string {
  return sha256(entries.map((entry) => `${entry.path}\0${entry.hash}\n`).join(''))
}

/** The content under `relative` inside an already hashed path ('' for the path itself), without touching disk. */
export function contentAt(content: ContentHash, relative: string): ContentHash | undefined {
  if (relative === '') return content
  if (content.type === 'file') return undefined
  const file = content.entries.find((entry) => entry.path === relative)
  if (file) return {type: 'file', hash: file.hash, size: file.size, executable: file.executable}
  const prefix = `${relative}/`
  const entries = content.entries.filter((entry) => entry.path.startsWith(prefix)).map((entry) => ({...entry, path: entry.path.slice(prefix.length)}))
  return entries.length === 0 ? undefined : {type: 'dir', hash: manifestHash(entries), entries}
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, {bigint: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The sha256 of a file's content, read in blocks when it is large. */
export async function hashContent(path: string, size: number): Promise<string> {
  if (size <= SMALL_FILE) return sha256(readFileSync(path))
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: SMALL_FILE})) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function memoEntryFor(stats: BigIntStats, hash: string): MemoEntry {
  return {size: Number(stats.size), mtimeNs: stats.mtimeNs.toString(), ino: stats.ino.toString(), hash}
}

/** Hashes files and folders by content, reading only files whose (size, mtime, inode) the memo has not seen. */
export class Hasher {
  constructor(private readonly memo: HashMemo) {}

  async hashFile(path: string, stats: BigIntStats): Promise<string> {
    const remembered = this.memo.get(path)
    const now = memoEntryFor(stats, '')
    if (remembered && remembered.size === now.size && remembered.mtimeNs === now.mtimeNs && remembered.ino === now.ino) return remembered.hash
    const hash = await hashContent(path, now.size)
    this.memo.set(path, {...now, hash})
    return hash
  }

  /** undefined when nothing exists at `path`. */
  async hashPath(path: string): Promise<ContentHash | undefined> {
    const stats = statOrUndefined(path)
    if (stats === undefined) return undefined
    if (!stats.isDirectory()) {
      return {type: 'file', hash: await this.hashFile(path, stats), size: Number(stats.size), executable: (stats.mode & 0o111n) !== 0n}
    }
    const entries: ManifestEntry[] = []
    await this.collect(path, '', entries)
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    return {type: 'dir', hash: manifestHash(entries), entries}
  }

  private async collect(root: string, prefix: string, entries: ManifestEntry[]): Promise<void> {
    for (const name of readdirSync(join(root, prefix))) {
      const relative = prefix === '' ? name : `${prefix}/${name}`
      const stats = statOrUndefined(join(root, relative))
      if (stats === undefined) continue // a dangling symlink holds no content
      if (stats.isDirectory()) await this.collect(root, relative, entries)
      else {
        const hash = await this.hashFile(join(root, relative), stats)
        entries.push({path: relative, hash, size: Number(stats.size), executable: (stats.mode & 0o111n) !== 0n})
      }
    }
  }
}
