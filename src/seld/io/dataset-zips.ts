import {existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {checkOverlap, datasetSpec, publishedSplit, splitLayout, type DatasetSpec, type SplitLayout} from '../features/datasets.js'
import {withFileLock} from './file-lock.js'
import {writeFileAtomically} from './atomic-files.js'
import {datasetZip, missingZipProblem} from './unzip.js'
import {downloadFile, findRecordFile, mismatch, recordFiles, zenodoBaseUrl, type DownloadOptions, type RecordFile} from './zenodo.js'

export interface FetchOptions extends DownloadOptions {
  /** The Zenodo server (default: zenodoBaseUrl()). */
  base?: string
  /** Told what happens, one line at a time. */
  log?: (line: string) => void
  /** How often a locked zip is looked at again. */
  lockPollMs?: number
}

export interface FetchResult {
  /** The zip the unzip stage reads: data/<dataset>/ov<o>_split<s>.zip, s seldpipe's split number. */
  zip: string
  /** present: found and not checked (no stored listing); verified: found with the listed size and md5; downloaded. */
  outcome: 'present' | 'verified' | 'downloaded'
}

/** The record listing kept beside the zips once fetched, so a present zip is checked later without the network. */
export function listingFile(from: string, record: number): string {
  return path.join(from, `zenodo-${record}.json`)
}

function storedListing(from: string, record: number): RecordFile[] | undefined {
  const file = listingFile(from, record)
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RecordFile[]
  } catch {
    return undefined // a damaged listing is fetched again
  }
}

/** Names a published zip also by seldpipe's split number (REAL's split 2 is its ov1_split8.zip), without a copy. */
function linkAlias(published: string, alias: string): void {
  if (alias === published || existsSync(alias)) return
  try {
    linkSync(published, alias)
  } catch {
    symlinkSync(path.basename(published), alias)
  }
}

/**
 * Makes sure data/<dataset>/ holds the split's zip as Zenodo publishes it, downloading it when missing. A present zip
 * is used without asking the network: it is checked against the record listing stored by an earlier download when
 * there is one, and a zip failing that check is moved aside (`.corrupt`) and downloaded again. Only a zip with the
 * listed size and md5 is ever put where the unzip stage reads.
 */
export async function ensureDatasetZip(datasetName: string, ov: number, split: number, from: string, options: FetchOptions = {}): Promise<FetchResult> {
  const dataset = datasetSpec(datasetName)
  const log = options.log ?? (() => undefined)
  if (dataset.synthetic || dataset.zenodoRecord === undefined) throw new Error(`${dataset.name} is synthesized by the synth stage, not downloaded`)
  const record = dataset.zenodoRecord
  const layout = splitLayout(checkOverlap(dataset, ov), publishedSplit(dataset, split))
  const target = datasetZip(from, ov, split)
  const published = path.join(from, layout.zip)
  mkdirSync(from, {recursive: true})
  // REAL's split 2 and 8 are one file: two instances (or a run and `seldpipe download`) must not fetch it at once.
  const lock = `${published}.lock`
  const wait = (holder: string) => log(`waiting for ${holder} to finish with ${published} (if it is gone, delete ${lock})`)
  const zip: ZipPlace = {dataset, record, ov, split, layout, target, published, from}
  return withFileLock(lock, wait, () => ensureLocked(zip, options, log), options.lockPollMs)
}

/** A split's zip: its published name and layout, and the name the pipeline reads it by. */
interface ZipPlace {
  dataset: DatasetSpec
  record: number
  ov: number
  split: number
  layout: SplitLayout
  /** data/<dataset>/ov<o>_split<s>.zip, s seldpipe's split number. */
  target: string
  /** data/<dataset>/<the published zip name>. */
  published: string
  from: string
}

async function ensureLocked(zip: ZipPlace, options: FetchOptions, log: (line: string) => void): Promise<FetchResult> {
  const {dataset, record, ov, split, layout, target, published, from} = zip
  const present = [published, target].find((file) => existsSync(file))
  if (present) {
    const listing = storedListing(from, record)
    const listed = listing?.find((file) => file.key === layout.zip)
    if (!listed) {
      linkAlias(published, target)
      log(`${present}: present (no stored listing of Zenodo record ${record} to check it against; unzip checks every entry's CRC-32)`)
      return {zip: target, outcome: 'present'}
    }
    const problem = await mismatch(present, listed, present, options.onProgress)
    if (!problem) {
      linkAlias(published, target)
      log(`${present}: present, size and md5 as Zenodo record ${record} lists`)
      return {zip: target, outcome: 'verified'}
    }
    for (const file of new Set([target, published])) if (file !== present) rmSync(file, {force: true})
    renameSync(present, `${present}.corrupt`)
    log(`${problem}: moved to ${present}.corrupt, downloading it again`)
  } else if ([layout.wavFolder, layout.descFolder].every((folder) => existsSync(path.join(from, `${folder}.zip`)))) {
    throw new Error(missingZipProblem(dataset, from, ov, split))
  }

  const base = options.base ?? zenodoBaseUrl()
  const files = await recordFiles(base, record, options.retry)
  writeFileAtomically(listingFile(from, record), JSON.stringify(files, null, 2) + '\n')
  const listed = findRecordFile(files, record, layout.zip)
  log(`downloading ${listed.key} (${listed.size} bytes) from Zenodo record ${record} to ${published}`)
  await downloadFile(listed, published, options)
  linkAlias(published, target)
  log(`${published}: downloaded, size and md5 as listed`)
  return {zip: target, outcome: 'downloaded'}
}
