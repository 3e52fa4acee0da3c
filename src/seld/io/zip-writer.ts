import {createWriteStream, rmSync} from 'node:fs'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import yazl from 'yazl'

/** One file of an archive, produced only when the writer reaches it, so memory holds one entry at a time. */
export interface ZipEntry {
  name: string
  bytes: () => Uint8Array
}

/**
 * Every entry carries this timestamp (built from local-time fields, because zip stores local DOS time), and no
 * extended UTC timestamp, so the archive's bytes depend only on its entries, not on when or where it was written.
 */
const FIXED_TIME = new Date(2018, 0, 1, 0, 0, 0)

/** A folder at the root of an archive and the files inside it. */
export interface ZipFolder {
  folder: string
  entries: ZipEntry[]
}

/**
 * Writes each folder and the entries inside it to `file`, in order, stored uncompressed (16-bit audio barely
 * deflates). On any error (including one thrown by an entry's `bytes`) the partial file is removed and the error
 * rethrown.
 */
export async function writeZip(file: string, folders: ZipFolder[]): Promise<void> {
  const zip = new yazl.ZipFile()
  const output = zip.outputStream as Readable
  const failed = new Promise<never>((_, reject) => zip.on('error', reject))
  for (const {folder, entries} of folders) addFolder(zip, folder, entries)
  zip.end()
  const writing = pipeline(output, createWriteStream(file))
  try {
    await Promise.race([writing, failed])
  } catch (error) {
    output.destroy()
    // Let the file stream close first, so it cannot recreate the file after it is removed.
    await writing.catch(() => undefined)
    rmSync(file, {force: true})
    throw error
  }
}

function addFolder(zip: yazl.ZipFile, folder: string, entries: ZipEntry[]): void {
  zip.addEmptyDirectory(`${folder}/`, {mtime: FIXED_TIME, forceDosTimestamp: true})
  for (const entry of entries) {
    zip.addReadStreamLazy(`${folder}/${entry.name}`, {mtime: FIXED_TIME, forceDosTimestamp: true, compress: false}, (done) => {
      let bytes: Uint8Array
      try {
        bytes = entry.bytes()
      } catch (error) {
        done(error, Readable.from([]))
        return
      }
      done(null, Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]))
    })
  }
}
