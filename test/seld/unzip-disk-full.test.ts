import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import yazl from 'yazl'
import {extractDataset} from '../../src/seld/io/unzip.js'

// Writes to a file named full.wav go to /dev/full, where the kernel answers every write with ENOSPC, as a full disk does.
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>()
  const createWriteStream = ((file: string, options?: Parameters<typeof fs.createWriteStream>[1]) =>
    path.basename(String(file)) === 'full.wav' ? fs.createWriteStream('/dev/full') : fs.createWriteStream(file, options)) as typeof fs.createWriteStream
  return {...fs, default: {...fs, createWriteStream}, createWriteStream}
})

async function zipOf(entries: {name: string; data: Buffer}[]): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const entry of entries) zip.addBuffer(entry.data, entry.name, {compress: false})
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

let work: string
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'seld-unzip-full-'))
  mkdirSync(path.join(work, 'data'))
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

describe('extractDataset on a full disk', () => {
  it.skipIf(!existsSync('/dev/full'))('says "disk full" with the path being written, and leaves nothing', async () => {
    writeFileSync(path.join(work, 'data', 'ov1_split1.zip'), await zipOf([
      {name: 'wav_ov1_split1_30db/full.wav', data: Buffer.alloc(200_000, 1)},
      {name: 'desc_ov1_split1/full.csv', data: Buffer.from('x')},
    ]))
    const out = path.join(work, 'out')
    await expect(extractDataset({dataset: 'ansim', ov: 1, split: 1, from: path.join(work, 'data'), out, maxBytes: 1e9})).rejects.toThrow(
      /ov1_split1\.zip: disk full while writing \/.*\/wav\/full\.wav \(extracting 'wav_ov1_split1_30db\/full\.wav'\)/,
    )
    expect(readdirSync(out)).toEqual([])
  })
})
