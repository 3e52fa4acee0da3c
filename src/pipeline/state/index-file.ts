import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {relative} from 'node:path'

/** The cache index cannot be opened safely: the message names the file and how to recover. */
export class CacheIndexError extends Error {
  override name = 'CacheIndexError'
  constructor(
    file: string,
    readonly problem: string,
  ) {
    const shown = relative(process.cwd(), file) || file
    super(
      `${shown} is damaged (${problem}). Delete ${shown}* (or run 'seldpipe cache rebuild') to start a fresh index: ` +
        'every instance then reruns, and outs whose content is already in cache/objects are stored once',
    )
  }
}

// The layout of the LMDB data file lmdb-js writes: two meta pages, each a page header followed by the meta record.
const META_PAGES = 2
const META_OFFSET = 24
const MAGIC = 0xbeefc0de
const PAGE_SIZE_OFFSET = META_OFFSET + 24
const LAST_PAGE_OFFSET = META_OFFSET + 120
const TXN_ID_OFFSET = META_OFFSET + 128
const MIN_PAGE_SIZE = 512

interface Meta {
  pageSize: number
  lastPage: number
  txnId: bigint
}

function readMeta(fd: number, position: number): Meta | undefined {
  const page = Buffer.alloc(META_OFFSET + 136)
  if (readSync(fd, page, 0, page.length, position) < page.length) return undefined
  if (page.readUInt32LE(META_OFFSET) !== MAGIC) return undefined
  return {pageSize: page.readUInt32LE(PAGE_SIZE_OFFSET), lastPage: Number(page.readBigUInt64LE(LAST_PAGE_OFFSET)), txnId: page.readBigUInt64LE(TXN_ID_OFFSET)}
}

/**
 * Cheap checks of an LMDB data file before it is memory-mapped: a truncated or overwritten file would otherwise kill
 * the process with SIGBUS or SIGSEGV on first access, with no message. A missing file is fine (LMDB creates it).
 */
export function checkIndexFile(file: string): void {
  const size = statSync(file, {throwIfNoEntry: false})?.size
  if (size === undefined || size === 0) return
  const fd = openSync(file, 'r')
  try {
    const first = readMeta(fd, 0)
    if (first === undefined) throw new CacheIndexError(file, 'no LMDB header')
    const {pageSize} = first
    if (pageSize < MIN_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) throw new CacheIndexError(file, `invalid page size ${pageSize}`)
    if (size < META_PAGES * pageSize) throw new CacheIndexError(file, `${size} bytes, shorter than its header`)
    const second = readMeta(fd, pageSize)
    // LMDB uses the meta page of the newer transaction; its last page must lie within the file.
    const current = second !== undefined && second.txnId > first.txnId ? second : first
    const needed = (current.lastPage + 1) * pageSize
    if (needed > size) throw new CacheIndexError(file, `truncated: ${size} bytes, its pages need ${needed}`)
  } finally {
    closeSync(fd)
  }
}
