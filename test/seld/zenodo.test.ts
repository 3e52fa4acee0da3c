import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ensureDatasetZip, listingFile} from '../../src/seld/io/dataset-zips.js'
import {downloadFile, findRecordFile, formatProgress, partialPath, recordFiles, zenodoBaseUrl, type Progress} from '../../src/seld/io/zenodo.js'
import {startZenodoStandIn, type StandIn, type StandInFile} from './zenodo-stand-in.js'

const ANSIM = 1237703
const REAL = 1237793
const fast = {retries: 3, backoffMs: 10}
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex')

let work: string
let server: StandIn | undefined
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'seld-zenodo-'))
})
afterEach(async () => {
  await server?.close()
  server = undefined
  rmSync(work, {recursive: true, force: true})
})

async function serve(records: Record<number, StandInFile[]>): Promise<StandIn> {
  server = await startZenodoStandIn(records)
  return server
}

describe('the Zenodo records API', () => {
  it('lists a record with key, size, md5 and URL; SELDPIPE_ZENODO_URL overrides zenodo.org', async () => {
    const content = randomBytes(1000)
    const {url} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content}, {key: 'LICENSE', content: Buffer.from('MIT')}]})
    const files = await recordFiles(url, ANSIM, fast)
    expect(files.map(({key, size, md5: sum}) => ({key, size, md5: sum}))).toEqual([
      {key: 'ov1_split1.zip', size: 1000, md5: md5(content)},
      {key: 'LICENSE', size: 3, md5: md5(Buffer.from('MIT'))},
    ])
    expect(files[0].url).toBe(`${url}/files/${ANSIM}/ov1_split1.zip`)
    expect(() => findRecordFile(files, ANSIM, 'ov4_split1.zip')).toThrow(/Zenodo record 1237703 lists no file ov4_split1\.zip \(it lists: ov1_split1\.zip, LICENSE\)/)
    expect(zenodoBaseUrl({})).toBe('https://zenodo.org')
    expect(zenodoBaseUrl({SELDPIPE_ZENODO_URL: `${url}/`})).toBe(url)
  })

  it('names the record (and the file) on a 404, without retrying it', async () => {
    const {url, requests} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content: Buffer.from('x'), gone: true}]})
    await expect(recordFiles(url, 999, fast)).rejects.toThrow(`Zenodo record 999: ${url}/api/records/999 answered HTTP 404`)
    expect(requests).toEqual(['GET /api/records/999'])
    const listed = findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip')
    const target = path.join(work, 'ov1_split1.zip')
    await expect(downloadFile(listed, target, {retry: fast})).rejects.toThrow(`Zenodo record 1237703, file ov1_split1.zip: ${listed.url} answered HTTP 404`)
    expect(requests.filter((line) => line.startsWith('GET /files/'))).toHaveLength(1)
    expect(readdirSync(work)).toEqual([])
  })
})

describe('downloadFile', () => {
  it('resumes a transfer cut at half with a Range request and ends with the same bytes', async () => {
    const content = randomBytes(200_000)
    const {url, requests} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content, cutFirstAt: 100_000}]})
    const listed = findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip')
    const target = path.join(work, 'ov1_split1.zip')
    const seen: Progress[] = []
    await downloadFile(listed, target, {retry: fast, onProgress: (progress) => seen.push(progress), progressEveryMs: 0})
    expect(readFileSync(target).equals(content)).toBe(true)
    expect(existsSync(partialPath(target))).toBe(false)
    const transfers = requests.filter((line) => line.startsWith('GET /files/'))
    expect(transfers[0]).toBe(`GET /files/${ANSIM}/ov1_split1.zip`)
    expect(transfers[1]).toMatch(new RegExp(`^GET /files/${ANSIM}/ov1_split1\\.zip bytes=(\\d+)-$`))
    const resumedAt = Number(/bytes=(\d+)-/.exec(transfers[1])![1])
    expect(resumedAt).toBeGreaterThan(0)
    expect(resumedAt).toBeLessThanOrEqual(100_000)
    expect(transfers).toHaveLength(2)
    expect(seen.filter((progress) => progress.key === 'ov1_split1.zip').at(-1)).toMatchObject({bytes: 200_000, total: 200_000})
    expect(seen.at(-1)).toMatchObject({key: 'md5 of ov1_split1.zip', bytes: 200_000, total: 200_000})
    expect(seen.every((progress) => progress.rate >= 0)).toBe(true)
  })

  it('resumes a .part left by an earlier process', async () => {
    const content = randomBytes(50_000)
    const {url, requests} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content}]})
    const target = path.join(work, 'ov1_split1.zip')
    writeFileSync(partialPath(target), content.subarray(0, 30_000))
    await downloadFile(findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip'), target, {retry: fast})
    expect(readFileSync(target).equals(content)).toBe(true)
    expect(requests.at(-1)).toBe(`GET /files/${ANSIM}/ov1_split1.zip bytes=30000-`)
  })

  it('starts over when the server refuses the Range (416)', async () => {
    const content = randomBytes(50_000)
    const {url, requests} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content, refuseFirstRange: true}]})
    const target = path.join(work, 'ov1_split1.zip')
    writeFileSync(partialPath(target), randomBytes(30_000))
    await downloadFile(findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip'), target, {retry: fast})
    expect(readFileSync(target).equals(content)).toBe(true)
    expect(requests.slice(-2)).toEqual([`GET /files/${ANSIM}/ov1_split1.zip bytes=30000-`, `GET /files/${ANSIM}/ov1_split1.zip`])
  })

  it('starts over when the server ignores the Range', async () => {
    const content = randomBytes(50_000)
    const {url} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content, ignoreRange: true}]})
    const target = path.join(work, 'ov1_split1.zip')
    writeFileSync(partialPath(target), content.subarray(0, 30_000))
    await downloadFile(findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip'), target, {retry: fast})
    expect(readFileSync(target).equals(content)).toBe(true)
  })

  it('retries a 503 with backoff, then succeeds; gives up after the allowed retries', async () => {
    const content = randomBytes(10_000)
    const {url, requests} = await serve({
      [ANSIM]: [{key: 'ov1_split1.zip', content, failFirst: {count: 1, status: 503}}, {key: 'ov2_split1.zip', content, failFirst: {count: 10, status: 503}}],
    })
    const files = await recordFiles(url, ANSIM, fast)
    const waits: number[] = []
    const target = path.join(work, 'ov1_split1.zip')
    await downloadFile(findRecordFile(files, ANSIM, 'ov1_split1.zip'), target, {retry: {...fast, onRetry: (_, wait) => waits.push(wait)}})
    expect(readFileSync(target).equals(content)).toBe(true)
    expect(requests.filter((line) => line.includes('ov1_split1'))).toHaveLength(2)
    expect(waits).toHaveLength(1)

    waits.length = 0
    const failing = downloadFile(findRecordFile(files, ANSIM, 'ov2_split1.zip'), path.join(work, 'ov2_split1.zip'), {retry: {retries: 2, backoffMs: 5, onRetry: (_, wait) => waits.push(wait)}})
    await expect(failing).rejects.toThrow(/Zenodo record 1237703, file ov2_split1\.zip: .* answered HTTP 503; gave up after 3 attempts/)
    expect(waits).toEqual([0, 0]) // the stand-in's Retry-After: 0 wins over the backoff
  })

  it('deletes a download whose md5 is not the listed one, naming both checksums', async () => {
    const content = randomBytes(10_000)
    const {url} = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content, listedMd5: '0'.repeat(32)}]})
    const target = path.join(work, 'ov1_split1.zip')
    const failing = downloadFile(findRecordFile(await recordFiles(url, ANSIM, fast), ANSIM, 'ov1_split1.zip'), target, {retry: fast})
    await expect(failing).rejects.toThrow(`${target}: md5 checksum ${md5(content)} does not match md5:${'0'.repeat(32)}, the checksum Zenodo record 1237703 lists for ov1_split1.zip (the download is deleted)`)
    expect(readdirSync(work)).toEqual([])
  })

  it('formats progress with bytes, rate and ETA', () => {
    expect(formatProgress({key: 'ov1_split1.zip', bytes: 1.2e9, total: 4.8e9, rate: 12.3e6, etaSeconds: 293})).toBe('ov1_split1.zip 1.20 GB / 4.80 GB (25%), 12.3 MB/s, ETA 4:53')
    expect(formatProgress({key: 'a.zip', bytes: 0, total: 5e9, rate: 0})).toBe('a.zip 0 B / 5.00 GB (0%), 0 B/s, ETA --')
    expect(formatProgress({key: 'a.zip', bytes: 1, total: 5e9, rate: 1e6, etaSeconds: 5000})).toMatch(/ETA 1:23:20$/)
  })
})

describe('ensureDatasetZip', () => {
  const data = () => path.join(work, 'data', 'ansim')

  it('downloads a missing zip once; a present one is checked against the stored listing without the network', async () => {
    const content = randomBytes(20_000)
    const stand = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content}]})
    const first = await ensureDatasetZip('ansim', 1, 1, data(), {base: stand.url, retry: fast})
    expect(first).toEqual({zip: path.join(data(), 'ov1_split1.zip'), outcome: 'downloaded'})
    expect(readFileSync(first.zip).equals(content)).toBe(true)
    expect(existsSync(listingFile(data(), ANSIM))).toBe(true)
    const asked = stand.requests.length
    // Offline now: a closed port.
    const offline = {base: 'http://127.0.0.1:9', retry: fast}
    await expect(ensureDatasetZip('ansim', 1, 1, data(), offline)).resolves.toMatchObject({outcome: 'verified'})
    expect(stand.requests).toHaveLength(asked)

    // A zip damaged on disk is moved aside and fetched again.
    const damaged = Buffer.from(content)
    damaged[5] ^= 1
    writeFileSync(first.zip, damaged)
    await expect(ensureDatasetZip('ansim', 1, 1, data(), {base: stand.url, retry: fast})).resolves.toMatchObject({outcome: 'downloaded'})
    expect(readFileSync(first.zip).equals(content)).toBe(true)
    expect(readFileSync(`${first.zip}.corrupt`).equals(damaged)).toBe(true)
  })

  it('waits while a live process holds the zip, and takes over a lock left by a dead one', async () => {
    const content = randomBytes(5000)
    const stand = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content}]})
    mkdirSync(data(), {recursive: true})
    const lock = path.join(data(), 'ov1_split1.zip.lock')
    writeFileSync(lock, `${hostname()}:${process.pid}`)
    const lines: string[] = []
    const fetching = ensureDatasetZip('ansim', 1, 1, data(), {base: stand.url, retry: fast, lockPollMs: 20, log: (line) => lines.push(line)})
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(stand.requests).toEqual([])
    expect(lines[0]).toMatch(new RegExp(`waiting for ${hostname()}:${process.pid} to finish with .*ov1_split1\\.zip \\(if it is gone, delete .*ov1_split1\\.zip\\.lock\\)`))
    rmSync(lock)
    await expect(fetching).resolves.toMatchObject({outcome: 'downloaded'})
    expect(existsSync(lock)).toBe(false)

    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!
    writeFileSync(path.join(data(), 'ov2_split1.zip'), 'by hand')
    writeFileSync(path.join(data(), 'ov2_split1.zip.lock'), `${hostname()}:${dead}`)
    await expect(ensureDatasetZip('ansim', 2, 1, data(), {base: stand.url, retry: fast, lockPollMs: 20})).resolves.toMatchObject({outcome: 'present'})
  })

  it('uses a zip placed by hand with the network unreachable', async () => {
    mkdirSync(data(), {recursive: true})
    writeFileSync(path.join(data(), 'ov2_split3.zip'), 'by hand')
    const lines: string[] = []
    const result = await ensureDatasetZip('ansim', 2, 3, data(), {base: 'http://127.0.0.1:9', retry: fast, log: (line) => lines.push(line)})
    expect(result.outcome).toBe('present')
    expect(lines.join('\n')).toMatch(/ov2_split3\.zip: present \(no stored listing of Zenodo record 1237703/)
  })

  it("fetches REAL's published ov1_split8.zip for its split 2 and names it ov1_split2.zip too, without a copy", async () => {
    const content = randomBytes(5000)
    const stand = await serve({[REAL]: [{key: 'ov1_split8.zip', content}, {key: 'ov1_split9.zip', content}]})
    const dir = path.join(work, 'data', 'real')
    const result = await ensureDatasetZip('real', 1, 2, dir, {base: stand.url, retry: fast})
    expect(result.zip).toBe(path.join(dir, 'ov1_split2.zip'))
    expect(statSync(path.join(dir, 'ov1_split8.zip')).ino).toBe(statSync(result.zip).ino)
    expect(readFileSync(result.zip).equals(content)).toBe(true)
    expect(stand.requests.filter((line) => line.startsWith('GET /files/'))).toEqual([`GET /files/${REAL}/ov1_split8.zip`])
    // The published number works as well, and finds the zip already there.
    await expect(ensureDatasetZip('real', 1, 8, dir, {base: 'http://127.0.0.1:9', retry: fast})).resolves.toMatchObject({outcome: 'verified'})
    await expect(ensureDatasetZip('real', 1, 4, dir, {base: stand.url, retry: fast})).rejects.toThrow(/real has no split 4/)
  })

  it('names the record and the file when the record lacks it; refuses the old layout and synthetic datasets before asking', async () => {
    const stand = await serve({[ANSIM]: [{key: 'ov1_split1.zip', content: Buffer.from('x')}]})
    await expect(ensureDatasetZip('ansim', 3, 2, data(), {base: stand.url, retry: fast})).rejects.toThrow(/Zenodo record 1237703 lists no file ov3_split2\.zip/)
    expect(existsSync(path.join(data(), 'ov3_split2.zip'))).toBe(false)
    await expect(ensureDatasetZip('resim', 1, 1, path.join(work, 'data', 'resim'), {base: stand.url, retry: fast})).rejects.toThrow(`Zenodo record 1237707: ${stand.url}/api/records/1237707 answered HTTP 404`)
    const asked = stand.requests.length
    writeFileSync(path.join(data(), 'wav_ov2_split1_30db.zip'), 'old')
    writeFileSync(path.join(data(), 'desc_ov2_split1.zip'), 'old')
    await expect(ensureDatasetZip('ansim', 2, 1, data(), {base: stand.url, retry: fast})).rejects.toThrow(/two-zip layout of earlier seldpipe versions/)
    await expect(ensureDatasetZip('synth-foa', 1, 1, data(), {base: stand.url, retry: fast})).rejects.toThrow(/synth-foa is synthesized by the synth stage, not downloaded/)
    expect(stand.requests).toHaveLength(asked)
  })
})
