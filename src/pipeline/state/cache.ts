import {constants, mkdirSync, readdirSync, statSync} from 'node:fs'
import {chmod, copyFile, mkdir, readdir, rename, rm, stat} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {open, type Database, type RootDatabase} from 'lmdb'
import type {CodeKey} from './code-closure.js'
import {hashContent, memoEntryFor, type ContentHash, type HashMemo, type MemoEntry} from './hash.js'
import {CacheIndexError, checkIndexFile} from './index-file.js'

/** An object in cache/objects whose content does not hash to its name: it has been deleted. */
export class CorruptObjectError extends Error {
  override name = 'CorruptObjectError'
  constructor(readonly objectPath: string) {
    super(`cache object ${objectPath} is corrupt (its content does not match its name)`)
  }
}

/** One out of a successful run: its path (relative to the pipeline root) and content. */
export interface OutRecord {
  path: string
  content: ContentHash
  /** False for a `cache: false` out: its hash is recorded but cache/objects holds no copy to restore it from. */
  cached?: false
}

/** What a key produced: written once its outs are safely in cache/objects. */
export interface KeyRecord {
  id: string
  outs: OutRecord[]
  finishedAt: string
}

/** The inputs of an instance's last successful run, kept to explain why it is stale now. */
export interface InstanceRecord {
  key: string
  argv: string[]
  deps: Record<string, string>
  /** The code of a `node <script>` command: its modules, packages and Node major. */
  code?: CodeKey
  params: Record<string, unknown>
  upstream: Record<string, string>
}

/** An instance a run is executing right now, shown by `status`. */
export interface RunningRecord {
  executor: string
  handle?: string
  runPid: number
  startedAt: string
  /** The GPUs the engine lent the instance. */
  gpus?: string[]
}

/**
 * The project cache beside pipeline.yaml: index.lmdb (key records, instance records, content-hash memo), objects/
 * (content-addressed copies of outs), logs/ (one log per instance) and the run lock.
 */
export class Cache {
  readonly logsDir: string
  readonly lockFile: string
  private readonly objectsDir: string
  private readonly root: RootDatabase
  private readonly keys: Database<KeyRecord, string>
  private readonly instances: Database<InstanceRecord, string>
  private readonly memoDb: Database<MemoEntry, string>
  private readonly runningDb: Database<RunningRecord, string>
  private readonly objectsBeingStored = new Map<string, Promise<void>>()

  constructor(readonly dir: string) {
    this.logsDir = join(dir, 'logs')
    this.objectsDir = join(dir, 'objects')
    this.lockFile = join(dir, 'lock')
    mkdirSync(this.objectsDir, {recursive: true})
    const indexFile = join(dir, 'index.lmdb')
    checkIndexFile(indexFile)
    try {
      this.root = open({path: indexFile, maxDbs: 8})
      this.keys = this.root.openDB({name: 'keys'})
      this.instances = this.root.openDB({name: 'instances'})
      this.memoDb = this.root.openDB({name: 'memo'})
      this.runningDb = this.root.openDB({name: 'running'})
    } catch (error) {
      throw new CacheIndexError(indexFile, (error as Error).message)
    }
  }

  /** A read of the index; LMDB's report of a damaged page becomes the message naming the file and the recovery. */
  private reading<T>(read: () => T): T {
    try {
      return read()
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('MDB_')) throw new CacheIndexError(join(this.dir, 'index.lmdb'), error.message)
      throw error
    }
  }

  readonly memo: HashMemo = {
    get: (path) => this.reading(() => this.memoDb.get(path)),
    set: (path, entry) => void this.memoDb.put(path, entry),
  }

  /** Another named part of the index, for state kept in a module of its own (state/records.ts). */
  section<V>(name: string): Database<V, string> {
    return this.root.openDB({name})
  }

  keyRecord(key: string): KeyRecord | undefined {
    return this.reading(() => this.keys.get(key))
  }

  instanceRecord(id: string): InstanceRecord | undefined {
    return this.reading(() => this.instances.get(id))
  }

  /** Every instance's last successful run, by instance id. */
  instanceRecords(): Map<string, InstanceRecord> {
    return this.reading(() => new Map([...this.instances.getRange()].map(({key, value}) => [key, value])))
  }

  running(): Map<string, RunningRecord> {
    return this.reading(() => new Map([...this.runningDb.getRange()].map(({key, value}) => [key, value])))
  }

  async setRunning(id: string, record: RunningRecord | undefined): Promise<void> {
    await (record === undefined ? this.runningDb.remove(id) : this.runningDb.put(id, record))
  }

  /** Drops the running marks of a run that ended without clearing them (killed). */
  async clearRunning(): Promise<void> {
    await this.runningDb.clearAsync()
  }

  objectPath(hash: string): string {
    return join(this.objectsDir, hash.slice(0, 2), hash.slice(2))
  }

  /**
   * Instances running at once may store the same content (two empty files, say): they share one copy, as the
   * temporary file is named by this process alone. `rewrite`: an existing object is checked, and replaced when its
   * content differs from its name.
   */
  private storeObject(source: string, hash: string, rewrite: boolean): Promise<void> {
    let storing = this.objectsBeingStored.get(hash)
    if (storing === undefined) {
      storing = this.copyObject(source, hash, rewrite).finally(() => this.objectsBeingStored.delete(hash))
      this.objectsBeingStored.set(hash, storing)
    }
    return storing
  }

  private async copyObject(source: string, hash: string, rewrite: boolean): Promise<void> {
    const target = this.objectPath(hash)
    const existing = await stat(target).catch(() => undefined)
    // A size that differs from the source's is a cheap sign of damage: such an object is always replaced.
    if (existing !== undefined && existing.size === (await stat(source)).size && (!rewrite || (await hashContent(target, existing.size)) === hash)) return
    await mkdir(dirname(target), {recursive: true})
    const temporary = `${target}${TEMPORARY_PREFIX}${process.pid}`
    await copyFile(source, temporary, constants.COPYFILE_FICLONE)
    await chmod(temporary, 0o444)
    await rename(temporary, target)
  }

  /**
   * Copies an out's files into objects/ (content-addressed, so identical files are stored once). `rewrite` (run
   * --force) also checks the objects already there and replaces those whose content differs from their name.
   */
  async storeOut(absolutePath: string, content: ContentHash, rewrite = false): Promise<void> {
    if (content.type === 'file') return this.storeObject(absolutePath, content.hash, rewrite)
    for (const entry of content.entries) await this.storeObject(join(absolutePath, entry.path), entry.hash, rewrite)
  }

  /** Whether every object of an out is present with the right size (its content is checked when restored). */
  hasObjects(content: ContentHash): boolean {
    const files = content.type === 'file' ? [content] : content.entries
    return files.every((file) => statOrNull(this.objectPath(file.hash))?.size === file.size)
  }

  /** Copies an object to `target` and checks the copy's content against the object's name. */
  private async restoreFile(target: string, hash: string, executable: boolean): Promise<void> {
    await mkdir(dirname(target), {recursive: true})
    const object = this.objectPath(hash)
    await copyFile(object, target, constants.COPYFILE_FICLONE)
    if ((await hashContent(target, (await stat(target)).size)) !== hash) {
      await rm(object, {force: true})
      throw new CorruptObjectError(object)
    }
    await chmod(target, executable ? 0o755 : 0o644)
  }

  /**
   * Rebuilds an out from objects/ beside its place, then swaps it in, so an interrupted restore leaves no half out.
   * Every file is checked against its hash: a corrupt object is deleted and CorruptObjectError thrown, the out untouched.
   */
  async restoreOut(absolutePath: string, content: ContentHash): Promise<void> {
    const temporary = `${absolutePath}${RESTORE_SUFFIX}`
    await rm(temporary, {recursive: true, force: true})
    try {
      if (content.type === 'file') await this.restoreFile(temporary, content.hash, content.executable)
      else {
        await mkdir(temporary, {recursive: true})
        for (const entry of content.entries) await this.restoreFile(join(temporary, entry.path), entry.hash, entry.executable)
      }
    } catch (error) {
      await rm(temporary, {recursive: true, force: true})
      throw error
    }
    await rm(absolutePath, {recursive: true, force: true})
    await mkdir(dirname(absolutePath), {recursive: true})
    await rename(temporary, absolutePath)
    // The restored files are known content: remember them so the next status need not read them.
    const files = content.type === 'file' ? [{path: absolutePath, hash: content.hash}] : content.entries.map((entry) => ({path: join(absolutePath, entry.path), hash: entry.hash}))
    for (const file of files) this.memo.set(file.path, memoEntryFor(await stat(file.path, {bigint: true}), file.hash))
  }

  /** Records a successful run: the key's outs and the instance's inputs, in one transaction. */
  async commit(id: string, key: string, instance: InstanceRecord, outs: OutRecord[]): Promise<void> {
    await this.root.transaction(() => {
      void this.keys.put(key, {id, outs, finishedAt: new Date().toISOString()})
      void this.instances.put(id, instance)
      void this.runningDb.remove(id)
    })
  }

  /** Every key record: what `gc` weighs against the references. */
  keyRecords(): Map<string, KeyRecord> {
    return new Map([...this.keys.getRange()].map(({key, value}) => [key, value]))
  }

  instanceIds(): string[] {
    return [...this.instances.getKeys()]
  }

  /** Deletes key records and instance records in one transaction (gc). */
  async removeRecords(keys: readonly string[], instanceIds: readonly string[]): Promise<void> {
    await this.root.transaction(() => {
      for (const key of keys) void this.keys.remove(key)
      for (const id of instanceIds) void this.instances.remove(id)
    })
  }

  /**
   * Every file in objects/: a content hash (undefined for a leftover of an interrupted store) and its size. Sizes are
   * apparent sizes: objects that share blocks with their outs through reflinks free less disk than they add up to.
   */
  objectFiles(): {path: string; hash?: string; bytes: number}[] {
    const files: {path: string; hash?: string; bytes: number}[] = []
    for (const prefix of readdirSync(this.objectsDir)) {
      const folder = join(this.objectsDir, prefix)
      const names = statOrNull(folder)?.isDirectory() ? readdirSync(folder) : []
      for (const name of names) {
        const path = join(folder, name)
        const stats = statOrNull(path)
        if (stats?.isFile()) files.push({path, hash: /^[0-9a-f]+$/.test(name) ? `${prefix}${name}` : undefined, bytes: stats.size})
      }
    }
    return files
  }

  /**
   * Hashes every object in objects/ and returns the paths of those whose content differs from their name; with
   * `remove` they are deleted (the instances needing them then rerun instead of restoring).
   */
  async verifyObjects(remove: boolean): Promise<{checked: number; corrupt: string[]}> {
    const corrupt: string[] = []
    let checked = 0
    for (const prefix of await readdir(this.objectsDir)) {
      for (const name of await readdir(join(this.objectsDir, prefix))) {
        if (TEMPORARY_OBJECT.test(name)) continue
        const path = join(this.objectsDir, prefix, name)
        if ((await hashContent(path, (await stat(path)).size)) !== prefix + name) {
          corrupt.push(path)
          if (remove) await rm(path, {force: true})
        }
        checked++
      }
    }
    return {checked, corrupt}
  }

  /** Removes the temporary objects of coordinators that are no longer running; returns their paths. */
  async removeDeadTemporaries(isAlive: (pid: number) => boolean): Promise<string[]> {
    const removed: string[] = []
    for (const prefix of await readdir(this.objectsDir)) {
      for (const name of await readdir(join(this.objectsDir, prefix))) {
        const pid = TEMPORARY_OBJECT.exec(name)?.[1]
        if (pid === undefined || isAlive(Number(pid))) continue
        await rm(join(this.objectsDir, prefix, name), {force: true})
        removed.push(join(this.objectsDir, prefix, name))
      }
    }
    return removed
  }

  async close(): Promise<void> {
    await this.root.flushed
    await this.root.close()
  }
}

/** Where an out is rebuilt from objects/ before it is swapped in (only the run holding the lock writes these). */
export const RESTORE_SUFFIX = '.seldpipe-restore'
const TEMPORARY_PREFIX = '.tmp-'
const TEMPORARY_OBJECT = /\.tmp-(\d+)$/

function statOrNull(path: string) {
  try {
    return statSync(path)
  } catch {
    return null
  }
}
