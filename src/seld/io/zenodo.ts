import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, renameSync, rmSync, statSync} from 'node:fs'
import {Readable, Transform, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {basename} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

export const ZENODO_URL = 'https://zenodo.org'

/** The Zenodo server: SELDPIPE_ZENODO_URL when set (a mirror, or a test's stand-in), else zenodo.org. */
export function zenodoBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.SELDPIPE_ZENODO_URL || ZENODO_URL).replace(/\/+$/, '')
}

/** One file of a Zenodo record, as its records API lists it. */
export interface RecordFile {
  record: number
  key: string
  size: number
  md5: string
  url: string
}

/** A failure that says what was asked of whom; `transient` ones are worth retrying. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly transient = false,
    readonly retryAfterMs?: number,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'DownloadError'
  }
}

export interface Progress {
  key: string
  /** Bytes on disk so far, resumed ones included. */
  bytes: number
  total: number
  /** Bytes per second over this transfer (resumed bytes excluded); 0 until measurable. */
  rate: number
  /** Seconds left at that rate, or undefined while unknown. */
  etaSeconds?: number
}

export interface RetryOptions {
  /** Attempts after the first one, for transient failures (429, 5xx, connection errors) without progress. */
  retries: number
  /** The first wait; each further one doubles (a server's Retry-After wins, up to a minute). */
  backoffMs: number
  /** Told of each wait, e.g. to print it. */
  onRetry?: (problem: string, waitMs: number) => void
}

export const DEFAULT_RETRIES: RetryOptions = {retries: 5, backoffMs: 1000}

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])
const MAX_WAIT_MS = 60_000

function retryAfter(response: Response): number | undefined {
  const header = response.headers.get('retry-after')
  if (!header) return undefined
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now()
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_WAIT_MS) : undefined
}

function describeNetworkError(error: unknown): string {
  const cause = (error as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}

async function request(url: string, what: string, headers: Record<string, string> = {}): Promise<Response> {
  let response: Response
  try {
    response = await fetch(url, {headers, redirect: 'follow'})
  } catch (error) {
    throw new DownloadError(`${what}: could not reach ${url} (${describeNetworkError(error)})`, true)
  }
  if (response.ok) return response
  await response.body?.cancel()
  throw new DownloadError(`${what}: ${url} answered HTTP ${response.status}`, TRANSIENT_STATUS.has(response.status), retryAfter(response), response.status)
}

/**
 * Runs `attempt` until it succeeds or fails for good: transient errors are retried with doubling waits, and a failed
 * attempt that still made progress (`madeProgress()` says so, e.g. bytes arrived before a cut) starts the count again.
 */
async function withRetries<T>(options: RetryOptions, attempt: () => Promise<T>, madeProgress: () => boolean = () => false): Promise<T> {
  let failures = 0
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (!(error instanceof DownloadError) || !error.transient) throw error
      if (madeProgress()) failures = 0
      if (failures >= options.retries) throw new DownloadError(`${error.message}; gave up after ${failures + 1} attempts`)
      const wait = error.retryAfterMs ?? Math.min(options.backoffMs * 2 ** failures, MAX_WAIT_MS)
      failures++
      options.onRetry?.(error.message, wait)
      await sleep(wait)
    }
  }
}

function recordUrl(base: string, record: number): string {
  return `${base}/api/records/${record}`
}

/** The files of a Zenodo record: GET <base>/api/records/<id> → files[] with key, size, checksum "md5:…", links.self. */
export async function recordFiles(base: string, record: number, retry: RetryOptions = DEFAULT_RETRIES): Promise<RecordFile[]> {
  const url = recordUrl(base, record)
  const what = `Zenodo record ${record}`
  const body = await withRetries(retry, async () => {
    const response = await request(url, what, {accept: 'application/json'})
    try {
      return (await response.json()) as unknown
    } catch (error) {
      throw new DownloadError(`${what}: ${url} did not answer JSON (${(error as Error).message})`)
    }
  })
  const files = (body as {files?: unknown})?.files
  if (!Array.isArray(files)) throw new DownloadError(`${what}: ${url} lists no files[]`)
  return files.map((file: unknown, index): RecordFile => {
    const entry = file as {key?: unknown; size?: unknown; checksum?: unknown; links?: {self?: unknown}}
    const md5 = typeof entry.checksum === 'string' ? /^md5:([0-9a-f]{32})$/i.exec(entry.checksum)?.[1] : undefined
    if (typeof entry.key !== 'string' || typeof entry.size !== 'number' || !(entry.size >= 0) || !md5 || typeof entry.links?.self !== 'string') {
      throw new DownloadError(`${what}: files[${index}] at ${url} lacks key, size, an "md5:…" checksum or links.self`)
    }
    return {record, key: entry.key, size: entry.size, md5: md5.toLowerCase(), url: entry.links.self}
  })
}

/** The listed file named `key`, or one clear error naming the record and the file. */
export function findRecordFile(files: RecordFile[], record: number, key: string): RecordFile {
  const found = files.find((file) => file.key === key)
  if (!found) throw new DownloadError(`Zenodo record ${record} lists no file ${key} (it lists: ${files.map((file) => file.key).join(', ') || 'nothing'})`)
  return found
}

/**
 * Reports progress through a transfer of `total` bytes (starting at `from`), at most once every `everyMs` unless
 * forced; `restart` begins a new measurement of the rate (after a resume).
 */
export function progressMeter(key: string, total: number, onProgress: ((progress: Progress) => void) | undefined, everyMs = 1000) {
  let from = 0
  let started = Date.now()
  let last = 0
  return {
    restart(bytes: number) {
      from = bytes
      started = Date.now()
    },
    report(bytes: number, force = false) {
      const now = Date.now()
      if (!onProgress || (!force && now - last < everyMs)) return
      last = now
      const seconds = (now - started) / 1000
      const rate = seconds > 0 ? (bytes - from) / seconds : 0
      onProgress({key, bytes, total, rate, etaSeconds: rate > 0 ? (total - bytes) / rate : undefined})
    },
  }
}

/** The md5 of a file, read once; `onProgress` hears how far (a multi-gigabyte zip takes a while). */
export async function md5Of(file: string, onProgress?: (progress: Progress) => void, shownAs = file): Promise<string> {
  const hash = createHash('md5')
  const meter = progressMeter(`md5 of ${basename(shownAs)}`, statSync(file).size, onProgress)
  let bytes = 0
  await pipeline(createReadStream(file), new Counter((count) => meter.report((bytes += count))), hash)
  meter.report(bytes, true)
  return hash.digest('hex')
}

/** Why `file` (named `shownAs` in the message) is not the listed file (size, then md5), or null when it is. */
export async function mismatch(file: string, listed: RecordFile, shownAs = file, onProgress?: (progress: Progress) => void): Promise<string | null> {
  const size = statSync(file).size
  if (size !== listed.size) return `${shownAs}: ${size} bytes, but Zenodo record ${listed.record} lists ${listed.size} for ${listed.key}`
  const md5 = await md5Of(file, onProgress, shownAs)
  if (md5 !== listed.md5) return `${shownAs}: md5 checksum ${md5} does not match md5:${listed.md5}, the checksum Zenodo record ${listed.record} lists for ${listed.key}`
  return null
}

function sizeOrZero(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** Counts bytes as they pass. */
class Counter extends Transform {
  constructor(private readonly onBytes: (count: number) => void) {
    super()
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes(chunk.length)
    callback(null, chunk)
  }
}

export interface DownloadOptions {
  retry?: RetryOptions
  onProgress?: (progress: Progress) => void
  /** Least milliseconds between two progress reports. */
  progressEveryMs?: number
}

/** The file downloads to `<target>.part`, which survives interruptions: the next attempt resumes it with Range. */
export function partialPath(target: string): string {
  return `${target}.part`
}

/**
 * Downloads a listed file to `target`: into `<target>.part`, resumed with an HTTP Range request after a cut (also
 * across processes), retried with backoff on transient errors, and renamed to `target` only when its size and md5 are
 * the listed ones. A mismatch deletes the download and fails naming both checksums.
 */
export async function downloadFile(listed: RecordFile, target: string, options: DownloadOptions = {}): Promise<void> {
  const part = partialPath(target)
  const what = `Zenodo record ${listed.record}, file ${listed.key}`
  const meter = progressMeter(listed.key, listed.size, options.onProgress, options.progressEveryMs)
  let progressed = false
  if (sizeOrZero(part) > listed.size) rmSync(part, {force: true})
  await withRetries(
    options.retry ?? DEFAULT_RETRIES,
    async () => {
      progressed = false
      let offset = sizeOrZero(part)
      if (offset === listed.size) return
      const response = await request(listed.url, what, offset > 0 ? {range: `bytes=${offset}-`} : {}).catch((error: unknown) => {
        // The server cannot serve the rest of this partial file (changed meanwhile?): start over.
        if (error instanceof DownloadError && error.status === 416) {
          rmSync(part, {force: true})
          throw new DownloadError(`${error.message} to a resumed request; starting over`, true, 0)
        }
        throw error
      })
      // A server ignoring the Range sends the whole file (200): start over rather than append it.
      const range = response.status === 206 ? /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '') : null
      if (offset > 0 && Number(range?.[1]) !== offset) offset = 0
      meter.restart(offset)
      if (!response.body) throw new DownloadError(`${what}: ${listed.url} sent no body`, true)
      let bytes = offset
      const counter = new Counter((count) => {
        bytes += count
        progressed = true
        meter.report(bytes)
      })
      try {
        await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), counter, createWriteStream(part, {flags: offset > 0 ? 'a' : 'w'}))
      } catch (error) {
        throw new DownloadError(`${what}: the transfer broke off at ${bytes} of ${listed.size} bytes (${describeNetworkError(error)})`, true)
      }
      if (bytes < listed.size) throw new DownloadError(`${what}: the transfer ended at ${bytes} of ${listed.size} bytes`, true)
      meter.report(bytes, true)
    },
    () => progressed,
  )
  const problem = await mismatch(part, listed, target, options.onProgress)
  if (problem) {
    rmSync(part, {force: true})
    throw new DownloadError(`${problem} (the download is deleted)`)
  }
  renameSync(part, target)
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return 'ETA --'
  const whole = Math.round(seconds)
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = whole % 60
  return `ETA ${h > 0 ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(s).padStart(2, '0')}`
}

/** e.g. `ov1_split1.zip 1.20 GB / 4.80 GB (25%), 12.3 MB/s, ETA 4:53`. */
export function formatProgress(progress: Progress): string {
  const percent = progress.total > 0 ? Math.floor((100 * progress.bytes) / progress.total) : 100
  return `${progress.key} ${formatBytes(progress.bytes)} / ${formatBytes(progress.total)} (${percent}%), ${formatBytes(progress.rate)}/s, ${formatEta(progress.etaSeconds)}`
}
