import {createWriteStream, existsSync, mkdirSync, rmSync} from 'node:fs'
import path from 'node:path'
import {Transform, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {crc32} from 'node:zlib'
import yauzl from 'yauzl'
import {checkOverlap, datasetSpec, publishedSplit, splitLayout, type DatasetSpec} from '../features/datasets.js'
import {publishStaged, stagingDirectory} from './atomic-files.js'

export class UnzipError extends Error {
  constructor(readonly archive: string, problem: string) {
    super(`${archive}: ${problem}`)
    this.name = 'UnzipError'
  }
}

/** Uncompressed bytes allowed across the archives of one extraction; shared so a set of archives has one budget. */
export class ByteBudget {
  used = 0
  constructor(readonly limit: number) {}
}

export interface ExtractOptions {
  /** Only direct children of this folder are extracted, flattened into the destination. */
  folder: string
  /** File name suffix of the entries wanted (e.g. '.wav'); others in the folder are skipped. */
  suffix: string
  budget: ByteBudget
}

/**
 * The largest expansion accepted for one entry, uncompressed : compressed, as zip-bomb advisories recommend; recorded
 * audio and csv files stay far below it. Entries smaller than RATIO_FREE_BYTES uncompressed are not held to it.
 */
export const MAX_COMPRESSION_RATIO = 200
const RATIO_FREE_BYTES = 1 << 20

const S_IFMT = 0o170000
const S_IFLNK = 0o120000

/** Why an entry name (separators already turned into '/') is unsafe to extract anywhere, or null. */
function unsafeName(name: string): string | null {
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return `absolute path '${name}'`
  if (name.split('/').includes('..')) return `'..' in '${name}' (zip slip)`
  return null
}

/** Counts bytes as they inflate (headers may lie about sizes) and computes their CRC-32, which yauzl does not check. */
class Meter extends Transform {
  crc = 0
  constructor(private readonly onBytes: (count: number) => Error | null) {
    super()
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const error = this.onBytes(chunk.length)
    if (error) return callback(error)
    this.crc = crc32(chunk, this.crc)
    callback(null, chunk)
  }
}

/**
 * Extracts `options.folder/*<suffix>` of a zip into `destination` (which must exist). Refuses the whole archive,
 * with an UnzipError naming it, on any unsafe entry name, symbolic link, encrypted entry, CRC or size mismatch, corrupt
 * structure, on inflating past the byte budget, or when the folder holds no wanted file. Returns the names extracted.
 */
export async function extractZipFolder(archive: string, destination: string, options: ExtractOptions): Promise<string[]> {
  const fail = (problem: string) => new UnzipError(archive, problem)
  let zip: yauzl.ZipFile
  try {
    // decodeStrings off: names are checked here, with messages of our own, rather than by yauzl.
    zip = await yauzl.openPromise(archive, {lazyEntries: true, decodeStrings: false, validateEntrySizes: true})
  } catch (error) {
    throw fail(`not a readable zip archive (${(error as Error).message})`)
  }
  const prefix = `${options.folder}/`
  const extracted: string[] = []
  try {
    for await (const entry of entries(zip)) {
      // With decodeStrings off yauzl hands over the raw name bytes; archives made on Windows may separate with '\\'.
      const name = String(entry.fileName as unknown as Buffer).replaceAll('\\', '/')
      const unsafe = unsafeName(name)
      if (unsafe) throw fail(`refusing entry with ${unsafe}`)
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) throw fail(`refusing symbolic link '${name}'`)
      const isDirectory = name.endsWith('/')
      const base = name.slice(prefix.length)
      if (isDirectory || !name.startsWith(prefix) || base.includes('/') || !base.endsWith(options.suffix)) continue
      if (entry.isEncrypted()) throw fail(`'${name}' is encrypted`)
      if (extracted.includes(base)) throw fail(`'${name}' appears twice`)
      const target = path.join(destination, base)
      const ratioLimit = Math.max(RATIO_FREE_BYTES, MAX_COMPRESSION_RATIO * entry.compressedSize)
      let inflated = 0
      const meter = new Meter((count) => {
        options.budget.used += count
        inflated += count
        if (inflated > ratioLimit) {
          return fail(`'${name}' expands more than ${MAX_COMPRESSION_RATIO} times its compressed size of ${entry.compressedSize} bytes (zip bomb?)`)
        }
        return options.budget.used > options.budget.limit
          ? fail(`expands beyond the limit of ${options.budget.limit} bytes (zip bomb?) while inflating '${name}'`)
          : null
      })
      try {
        await pipeline(await zip.openReadStreamPromise(entry), meter, createWriteStream(target, {flags: 'wx'}))
      } catch (error) {
        if (error instanceof UnzipError) throw error
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOSPC' || code === 'EDQUOT') throw fail(`disk full while writing ${target} (extracting '${name}')`)
        throw fail(`corrupt entry '${name}' (${(error as Error).message})`)
      }
      if (meter.crc !== entry.crc32) throw fail(`corrupt entry '${name}' (CRC-32 mismatch)`)
      extracted.push(base)
    }
  } catch (error) {
    throw error instanceof UnzipError ? error : fail(`corrupt archive (${(error as Error).message})`)
  } finally {
    zip.close()
  }
  if (extracted.length === 0) throw fail(`holds no ${prefix}*${options.suffix} files; expected the folder '${prefix}'`)
  return extracted
}

/** The entries of a lazily-read zip, one at a time, surfacing its errors. */
async function* entries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  let failure: Error | null = null
  let done = false
  let wake: (() => void) | null = null
  let next: yauzl.Entry | null = null
  const notify = () => {
    wake?.()
    wake = null
  }
  zip.on('entry', (entry: yauzl.Entry) => {
    next = entry
    notify()
  })
  zip.on('end', () => {
    done = true
    notify()
  })
  zip.on('error', (error: Error) => {
    failure = error
    notify()
  })
  for (;;) {
    const waiting = new Promise<void>((resolve) => (wake = resolve))
    zip.readEntry()
    await waiting
    if (failure) throw failure
    if (next) {
      const entry: yauzl.Entry = next
      next = null
      yield entry
    } else if (done) return
  }
}

export interface DatasetArchives {
  dataset: string
  ov: number
  /** seldpipe's split number (for REAL, 1, 2, 3 name the published 1, 8, 9; the published numbers work too). */
  split: number
  /** Folder holding the downloaded (or synthesized) zips, e.g. data/ansim. */
  from: string
  /** Working folder receiving wav/ and desc/. */
  out: string
  maxBytes: number
}

/** The zip of a split in a dataset's data folder, named by seldpipe's split number as the pipeline declares it. */
export function datasetZip(from: string, ov: number, split: number): string {
  return path.join(from, splitLayout(ov, split).zip)
}

/**
 * Why a split's zip is missing, and what to do: the two-zip layout of earlier seldpipe versions (wav_….zip and
 * desc_….zip) is refused with the commands converting it into the published layout.
 */
export function missingZipProblem(dataset: DatasetSpec, from: string, ov: number, split: number): string {
  const zip = datasetZip(from, ov, split)
  const layout = splitLayout(ov, publishedSplit(dataset, split))
  const old = [`${layout.wavFolder}.zip`, `${layout.descFolder}.zip`]
  if (old.every((name) => existsSync(path.join(from, name)))) {
    return (
      `${zip} not found, but ${from}/ holds ${old.join(' and ')}: the two-zip layout of earlier seldpipe versions. ` +
      `The published layout is one zip holding both folders; convert with: ` +
      `cd ${from} && unzip -q ${old[0]} && unzip -q ${old[1]} && zip -0 -qr ${layout.zip} ${layout.wavFolder} ${layout.descFolder} && ` +
      `rm -r ${layout.wavFolder} ${layout.descFolder} ${old.join(' ')}` +
      (dataset.synthetic ? ` (or delete them: the synth stage writes ${layout.zip})` : ` (or fetch it: seldpipe download ${dataset.name} --ov ${ov} --split ${split})`)
    )
  }
  return dataset.synthetic
    ? `${zip} not found: the synth stage writes it (seldpipe run)`
    : `${zip} not found: fetch it with seldpipe download ${dataset.name} --ov ${ov} --split ${split} (or seldpipe run), or put the published ${layout.zip} from Zenodo record ${dataset.zenodoRecord} in ${from}/`
}

/**
 * Extracts the split's zip (the published layout: wav_ov{ov}_split{s}_30db/ and desc_ov{ov}_split{s}/ at its root,
 * s the published split number) into <out>/wav and <out>/desc, through a staging folder moved into place only when both
 * folders succeed.
 */
export async function extractDataset(options: DatasetArchives): Promise<{wav: string[]; desc: string[]}> {
  const dataset = datasetSpec(options.dataset)
  const archive = datasetZip(options.from, checkOverlap(dataset, options.ov), options.split)
  const layout = splitLayout(options.ov, publishedSplit(dataset, options.split))
  if (!existsSync(archive)) throw new Error(missingZipProblem(dataset, options.from, options.ov, options.split))
  mkdirSync(options.out, {recursive: true})
  const staging = stagingDirectory(path.join(options.out, 'unzip'))
  try {
    const budget = new ByteBudget(options.maxBytes)
    mkdirSync(path.join(staging, 'wav'))
    mkdirSync(path.join(staging, 'desc'))
    const wav = await extractZipFolder(archive, path.join(staging, 'wav'), {folder: layout.wavFolder, suffix: '.wav', budget})
    const desc = await extractZipFolder(archive, path.join(staging, 'desc'), {folder: layout.descFolder, suffix: '.csv', budget})
    publishStaged(path.join(staging, 'wav'), path.join(options.out, 'wav'))
    publishStaged(path.join(staging, 'desc'), path.join(options.out, 'desc'))
    return {wav, desc}
  } finally {
    rmSync(staging, {recursive: true, force: true})
  }
}
