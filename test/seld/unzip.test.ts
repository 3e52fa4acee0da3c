import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import yazl from 'yazl'
import {extractDataset} from '../../src/seld/io/unzip.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

interface Entry {
  name: string
  data?: Buffer
  mode?: number
  compress?: boolean
}

async function zipOf(entries: Entry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const entry of entries) {
    if (entry.data === undefined) zip.addEmptyDirectory(entry.name)
    else zip.addBuffer(entry.data, entry.name, {mode: entry.mode, compress: entry.compress ?? true})
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** yazl refuses hostile names, so archives carry a placeholder of the same length, replaced in every header. */
function rename(zip: Buffer, placeholder: string, hostile: string): Buffer {
  expect(hostile.length).toBe(placeholder.length)
  const out = Buffer.from(zip)
  let at = out.indexOf(placeholder)
  expect(at).toBeGreaterThanOrEqual(0)
  while (at >= 0) {
    out.write(hostile, at, 'latin1')
    at = out.indexOf(placeholder, at + 1)
  }
  return out
}

const WAV = 'wav_ov1_split1_30db'
const DESC = 'desc_ov1_split1'
const csv = Buffer.from('sound_event_recording,start_time,end_time,ele,azi,dist\nknock001.wav,0.5,1.0,10,20,2\n')

let work: string
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'seld-unzip-'))
  mkdirSync(path.join(work, 'data'))
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

const ZIP = 'ov1_split1.zip'
const descEntry: Entry = {name: `${DESC}/train_0.csv`, data: csv}

/** Writes data/ov1_split1.zip as published: the wav folder's entries, then the desc folder's. */
async function writeArchives(wavEntries: Entry[], descEntries: Entry[] = [descEntry]) {
  writeFileSync(path.join(work, 'data', ZIP), await zipOf([...wavEntries, ...descEntries]))
}

const writeZipBytes = (bytes: Buffer | string) => writeFileSync(path.join(work, 'data', ZIP), bytes)

const extract = (maxBytes = 1e9) =>
  extractDataset({dataset: 'ansim', ov: 1, split: 1, from: path.join(work, 'data'), out: path.join(work, 'out'), maxBytes})

/** Nothing of a refused extraction may remain: no wav/ or desc/, no staging folder. */
function expectNothingWritten() {
  const out = path.join(work, 'out')
  expect(existsSync(out) ? readdirSync(out) : []).toEqual([])
}

describe('extractDataset', () => {
  it('extracts the wav and desc folders flat into wav/ and desc/, skipping other entries', async () => {
    await writeArchives([
      {name: `${WAV}/`},
      {name: `${WAV}/train_0.wav`, data: Buffer.from('first')},
      {name: `${WAV}/test_0.wav`, data: Buffer.alloc(100_000, 7)},
      {name: `${WAV}/notes.txt`, data: Buffer.from('skip')},
      {name: '__MACOSX/._train_0.wav', data: Buffer.from('skip')},
    ])
    const result = await extract()
    expect(result.wav.sort()).toEqual(['test_0.wav', 'train_0.wav'])
    expect(readdirSync(path.join(work, 'out')).sort()).toEqual(['desc', 'wav'])
    expect(readdirSync(path.join(work, 'out', 'wav')).sort()).toEqual(['test_0.wav', 'train_0.wav'])
    expect(readFileSync(path.join(work, 'out', 'wav', 'test_0.wav'))).toEqual(Buffer.alloc(100_000, 7))
    expect(readFileSync(path.join(work, 'out', 'desc', 'train_0.csv'))).toEqual(csv)
  })

  it('replaces a previous extraction instead of mixing with it', async () => {
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.from('a')}])
    await extract()
    await writeArchives([{name: `${WAV}/train_1.wav`, data: Buffer.from('b')}])
    await extract()
    expect(readdirSync(path.join(work, 'out', 'wav'))).toEqual(['train_1.wav'])
  })

  it('refuses zip slip through ..', async () => {
    writeZipBytes(rename(await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}, descEntry, {name: 'AAAAAAAAA.wav', data: Buffer.from('evil')}]), 'AAAAAAAAA', '../../../'))
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: refusing entry with '\.\.' in '\.\.\/\.\.\/\.\.\/\.wav' \(zip slip\)/)
    expectNothingWritten()
    expect(existsSync(path.join(work, '.wav'))).toBe(false)
  })

  it('reads backslash separators as Windows archivers write them, and refuses .. written so', async () => {
    writeZipBytes(rename(await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}, descEntry]), `${WAV}/`, `${WAV}\\`))
    await expect(extract()).resolves.toEqual({wav: ['train_0.wav'], desc: ['train_0.csv']})
    writeZipBytes(rename(await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}, descEntry, {name: 'AAAAAA.wav', data: Buffer.from('evil')}]), 'AAAAAA', '..\\..\\'))
    await expect(extract()).rejects.toThrow(/'\.\.' in '\.\.\/\.\.\/\.wav' \(zip slip\)/)
  })

  it('refuses absolute paths', async () => {
    writeZipBytes(rename(await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}, descEntry, {name: 'AAAAAAAAA.wav', data: Buffer.from('evil')}]), 'AAAAAAAAA', '/tmp/evil'))
    await expect(extract()).rejects.toThrow(/absolute path '\/tmp\/evil\.wav'/)
    expectNothingWritten()
  })

  it('refuses symbolic links', async () => {
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.from('/etc/passwd'), mode: 0o120777}])
    await expect(extract()).rejects.toThrow(/refusing symbolic link 'wav_ov1_split1_30db\/train_0\.wav'/)
    expectNothingWritten()
  })

  it('refuses archives expanding beyond the byte limit, counted across entries and folders', async () => {
    await writeArchives([
      {name: `${WAV}/train_0.wav`, data: Buffer.alloc(300_000)},
      {name: `${WAV}/train_1.wav`, data: Buffer.alloc(300_000)},
    ])
    await expect(extract(500_000)).rejects.toThrow(/expands beyond the limit of 500000 bytes/)
    expectNothingWritten()
    // The wav folder alone fits; the desc folder tips it over the limit.
    await expect(extract(600_000 + csv.length - 1)).rejects.toThrow(/ov1_split1\.zip: expands beyond .* while inflating 'desc_ov1_split1\/train_0\.csv'/)
    expectNothingWritten()
    await expect(extract(600_000 + csv.length)).resolves.toBeDefined()
  })

  it('refuses an entry expanding more than 200 times its compressed size, however small the archive', async () => {
    // Zeros deflate about 1000:1: a 300 KB archive would expand to 300 MB.
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.alloc(8 << 20)}])
    expect(readFileSync(path.join(work, 'data', ZIP)).length).toBeLessThan(64 << 10)
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: 'wav_ov1_split1_30db\/train_0\.wav' expands more than 200 times its compressed size of \d+ bytes \(zip bomb\?\)/)
    expectNothingWritten()
    // Small entries and ordinary compression ratios pass.
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.alloc(100_000)}, {name: `${WAV}/train_1.wav`, data: randomBytes(2 << 20)}])
    await expect(extract()).resolves.toBeDefined()
  })

  it('refuses an entry inflating to more than its header declares', async () => {
    const zip = await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.alloc(1_000_000)}, descEntry])
    // Overwrite the uncompressed size (offset 24 in the central directory header, 22 in the local one) with 1000.
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    zip.writeUInt32LE(1000, central + 24)
    zip.writeUInt32LE(1000, 22)
    writeZipBytes(zip)
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: corrupt entry 'wav_ov1_split1_30db\/train_0\.wav'/)
    expectNothingWritten()
  })

  it('refuses a stored entry whose bytes do not match its CRC', async () => {
    const zip = await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('0123456789abcdef'), compress: false}, descEntry])
    const at = zip.indexOf('0123456789abcdef')
    zip[at + 3] ^= 0xff
    writeZipBytes(zip)
    await expect(extract()).rejects.toThrow(/corrupt entry 'wav_ov1_split1_30db\/train_0\.wav' \(CRC-32 mismatch\)/)
    expectNothingWritten()
  })

  it('refuses a truncated or garbage archive', async () => {
    const zip = await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.alloc(10_000, 1)}, descEntry])
    writeZipBytes(zip.subarray(0, zip.length - 30))
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: not a readable zip archive/)
    writeZipBytes('this is not a zip')
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: not a readable zip archive/)
    expectNothingWritten()
  })

  it('refuses archives missing the expected folder', async () => {
    await writeArchives([{name: 'train_0.wav', data: Buffer.from('x')}])
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: holds no wav_ov1_split1_30db\/\*\.wav files/)
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}], [{name: 'desc_ov2_split1/train_0.csv', data: csv}])
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip: holds no desc_ov1_split1\/\*\.csv files/)
    expectNothingWritten()
  })

  it('says how to get a missing zip', async () => {
    await expect(extract()).rejects.toThrow(/ov1_split1\.zip not found: fetch it with seldpipe download ansim --ov 1 --split 1 .*or put the published ov1_split1\.zip from Zenodo record 1237703 in .*data\//)
    const synthetic = extractDataset({dataset: 'synth-foa', ov: 1, split: 1, from: path.join(work, 'data'), out: path.join(work, 'out'), maxBytes: 1e9})
    await expect(synthetic).rejects.toThrow(/ov1_split1\.zip not found: the synth stage writes it/)
    expectNothingWritten()
  })

  it('refuses the two-zip layout of earlier versions, saying how to convert it', async () => {
    writeFileSync(path.join(work, 'data', `${WAV}.zip`), await zipOf([{name: `${WAV}/train_0.wav`, data: Buffer.from('x')}]))
    writeFileSync(path.join(work, 'data', `${DESC}.zip`), await zipOf([descEntry]))
    const refused = extract()
    await expect(refused).rejects.toThrow(/ov1_split1\.zip not found, but .*data\/ holds wav_ov1_split1_30db\.zip and desc_ov1_split1\.zip: the two-zip layout of earlier seldpipe versions/)
    await expect(refused).rejects.toThrow(/unzip -q wav_ov1_split1_30db\.zip && unzip -q desc_ov1_split1\.zip && zip -0 -qr ov1_split1\.zip wav_ov1_split1_30db desc_ov1_split1/)
    expectNothingWritten()
  })

  it("reads REAL's split 2 from its zip with the published split 8's folders, and the published number too", async () => {
    const real = (split: number) => {
      const out = path.join(work, `real-${split}`)
      return {out, done: extractDataset({dataset: 'real', ov: 2, split, from: path.join(work, 'data'), out, maxBytes: 1e9})}
    }
    const entries = await zipOf([{name: 'wav_ov2_split8_30db/train_0.wav', data: Buffer.from('r')}, {name: 'desc_ov2_split8/train_0.csv', data: csv}])
    writeFileSync(path.join(work, 'data', 'ov2_split8.zip'), entries)
    writeFileSync(path.join(work, 'data', 'ov2_split2.zip'), entries)
    for (const split of [2, 8]) {
      const {out, done} = real(split)
      await expect(done).resolves.toEqual({wav: ['train_0.wav'], desc: ['train_0.csv']})
      expect(readFileSync(path.join(out, 'wav', 'train_0.wav'), 'utf8')).toBe('r')
    }
    await expect(real(4).done).rejects.toThrow(/real has no split 4: it publishes splits 1, 8, 9 \(also reachable as 1…3\)/)
  })
})

// Runs the compiled stage, as the pipeline does (`npm test` builds first).
describe('unzip stage', () => {
  const stage = (...args: string[]) => spawnSync('node', [path.join(repoRoot, 'dist/stages/unzip.js'), ...args], {encoding: 'utf8'})
  const flags = (maxBytes: string) => ['--dataset', 'ansim', '--ov', '1', '--split', '1', '--from', path.join(work, 'data'), '--max-bytes', maxBytes, '--out', path.join(work, 'out')]

  it('extracts, and exits non-zero with one clear line on a refused archive', async () => {
    await writeArchives([{name: `${WAV}/train_0.wav`, data: Buffer.alloc(2000)}])
    const ok = stage(...flags('1000000'))
    expect(ok.status).toBe(0)
    expect(readdirSync(path.join(work, 'out', 'wav'))).toEqual(['train_0.wav'])
    const refused = stage(...flags('1000'))
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/^error: .*ov1_split1\.zip: expands beyond the limit of 1000 bytes/)
  })
})
