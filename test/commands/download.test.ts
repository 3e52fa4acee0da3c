import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt} from '../pipeline/cli.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {startZenodoStandIn, type StandIn} from '../seld/zenodo-stand-in.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)
let standIn: StandIn | undefined
afterEach(async () => {
  await standIn?.close()
  standIn = undefined
})

async function download(zenodo: string, cwd: string, ...args: string[]) {
  process.env.SELDPIPE_ZENODO_URL = zenodo
  try {
    return await cli(cwd, 'download', ...args)
  } finally {
    delete process.env.SELDPIPE_ZENODO_URL
  }
}

describe('seldpipe download', () => {
  it("fetches the requested splits (REAL's 2 and 3 are its published 8 and 9), then finds them present offline", async () => {
    const eight = randomBytes(30_000)
    const nine = randomBytes(20_000)
    standIn = await startZenodoStandIn({1237793: [{key: 'ov2_split8.zip', content: eight, cutFirstAt: 15_000}, {key: 'ov2_split9.zip', content: nine}, {key: 'LICENSE', content: Buffer.from('l')}]})
    const dir = tempDir()
    const first = await download(standIn.url, dir, 'real', '--ov', '2', '--split', '2,3')
    expect(first.exitCode, first.stderr).toBe(0)
    const data = join(dir, 'data', 'real')
    expect(readdirSync(data).sort()).toEqual(['ov2_split2.zip', 'ov2_split3.zip', 'ov2_split8.zip', 'ov2_split9.zip', 'zenodo-1237793.json'])
    expect(readFileSync(join(data, 'ov2_split8.zip')).equals(eight)).toBe(true)
    expect(statSync(join(data, 'ov2_split2.zip')).ino).toBe(statSync(join(data, 'ov2_split8.zip')).ino)
    expect(readFileSync(join(data, 'ov2_split9.zip')).equals(nine)).toBe(true)
    expect(first.stdout).toMatch(/ov2_split2\.zip: downloaded/)

    const again = await download('http://127.0.0.1:9', dir, 'real', '--ov', '2', '--split', '2,8,9')
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout.match(/: verified/g)).toHaveLength(3)
  })

  it('fetches every published split by default, under the published names only', async () => {
    const files = ['ov1_split1.zip', 'ov1_split8.zip', 'ov1_split9.zip'].map((key) => ({key, content: randomBytes(1000)}))
    standIn = await startZenodoStandIn({1237793: files})
    const dir = tempDir()
    const result = await download(standIn.url, dir, 'real', '--ov', '1')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(readdirSync(join(dir, 'data', 'real')).sort()).toEqual(['ov1_split1.zip', 'ov1_split8.zip', 'ov1_split9.zip', 'zenodo-1237793.json'])
  })

  it('exits 1 naming the record and the file it lacks; refuses a synthetic dataset', async () => {
    standIn = await startZenodoStandIn({1237703: [{key: 'ov1_split1.zip', content: Buffer.from('x')}]})
    const dir = tempDir()
    const missing = await download(standIn.url, dir, 'ansim', '--ov', '3', '--split', '1')
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toMatch(/Zenodo record 1237703 lists no file ov3_split1\.zip \(it lists: ov1_split1\.zip\)/)
    const synthetic = await download(standIn.url, dir, 'synth-foa')
    expect(synthetic.exitCode).toBe(2)
    expect(synthetic.stderr).toMatch(/Expected synth-foa to be one of: ansim, resim, cansim, cresim, real/)
  })
})
