import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {datasetSpec} from '../../src/seld/features/datasets.js'
import {datasetOptions, synthesizeSplit} from '../../src/seld/synth/synthesize.js'
import {startZenodoStandIn, type StandIn} from '../seld/zenodo-stand-in.js'
import {cli, ensureBuilt, repoRoot} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
const ANSIM = 1237703
const QUICK = ['--set', 'train.quick_test=true', '--set', 'train.backend=wasm']

let zip: Buffer
beforeAll(async () => {
  await ensureBuilt()
  // A small split in the published layout: the synthesizer writes ov1_split1.zip as Zenodo does.
  const dir = tempDir()
  const options = datasetOptions(datasetSpec('synth-foa'), {ov: 1, split: 1, trainFiles: 2, testFiles: 1, duration: 5, seed: 3, rt60: 0.4, shiftTestDoa: false})
  zip = readFileSync((await synthesizeSplit(options, dir)).zip)
}, 60_000)

let standIn: StandIn | undefined
afterEach(async () => {
  await standIn?.close()
  standIn = undefined
})

/** A project using the repository's pipeline (trimmed to `stages` when given) and built code. */
function project(stages?: string[]): string {
  const dir = tempDir()
  const pipeline = parse(readFileSync(join(repoRoot, 'pipeline.yaml'), 'utf8')) as {stages: Record<string, unknown>}
  if (stages) pipeline.stages = Object.fromEntries(Object.entries(pipeline.stages).filter(([name]) => stages.includes(name)))
  writeFileSync(join(dir, 'pipeline.yaml'), stringify(pipeline))
  cpSync(join(repoRoot, 'params'), join(dir, 'params'), {recursive: true})
  cpSync(join(repoRoot, 'params.schema.json'), join(dir, 'params.schema.json'))
  symlinkSync(join(repoRoot, 'dist'), join(dir, 'dist'))
  return dir
}

/** `seldpipe ARGS` with SELDPIPE_ZENODO_URL set to `zenodo` (the CLI inherits this process's environment). */
async function seldpipe(dir: string, zenodo: string, ...args: string[]) {
  process.env.SELDPIPE_ZENODO_URL = zenodo
  try {
    return await cli(dir, ...args)
  } finally {
    delete process.env.SELDPIPE_ZENODO_URL
  }
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex')

describe('real data from Zenodo (a loopback stand-in)', () => {
  it('downloads the zip on demand, resumes after a cut, runs to evaluate; a second run downloads nothing', async () => {
    standIn = await startZenodoStandIn({[ANSIM]: [{key: 'ov1_split1.zip', content: zip, cutFirstAt: Math.floor(zip.length / 2)}, {key: 'LICENSE', content: Buffer.from('license')}]})
    const dir = project()
    const first = await seldpipe(dir, standIn.url, 'run', '--matrix', 'dataset=ansim', 'ov=1', 'split=1', ...QUICK)
    expect(first.stderr).toBe('')
    expect(first.exitCode, first.stdout).toBe(0)
    expect(first.stdout).toMatch(/✓ ran download@dataset=ansim,ov=1,split=1/)
    expect(first.stdout).toMatch(/✓ ran evaluate@dataset=ansim,ov=1,split=1/)
    const downloaded = readFileSync(join(dir, 'data', 'ansim', 'ov1_split1.zip'))
    expect(downloaded.equals(zip)).toBe(true)
    const transfers = standIn.requests.filter((line) => line.startsWith('GET /files/'))
    expect(transfers).toHaveLength(2)
    expect(transfers[1]).toMatch(/ov1_split1\.zip bytes=\d+-$/)
    expect(existsSync(join(dir, 'work', 'ansim', 'ov1_split1', 'eval', 'metrics.json'))).toBe(true)
    // Progress in the progress protocol: bytes, rate and ETA.
    const log = readFileSync(join(dir, 'cache', 'logs', 'download@dataset=ansim,ov=1,split=1.log'), 'utf8')
    expect(log).toMatch(/::progress ov1_split1\.zip [\d.]+ [kM]?B \/ [\d.]+ [kM]?B \(100%\), [\d.]+ [kMG]?B\/s, ETA 0:00/)
    // Recorded, not copied into cache/objects.
    const objects = readdirSync(join(dir, 'cache', 'objects'), {recursive: true, encoding: 'utf8'})
    const sha = createHash('sha256').update(downloaded).digest('hex')
    expect(objects).not.toContain(join(sha.slice(0, 2), sha.slice(2)))

    const asked = standIn.requests.length
    const second = await seldpipe(dir, standIn.url, 'run', '--matrix', 'dataset=ansim', 'ov=1', 'split=1', ...QUICK)
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain('0 ran, 0 restored, 7 up to date')
    expect(standIn.requests).toHaveLength(asked)
  }, 240_000)

  it('fails on a wrong md5 naming the checksum, leaving no zip in data/', async () => {
    standIn = await startZenodoStandIn({[ANSIM]: [{key: 'ov1_split1.zip', content: zip, listedMd5: 'f'.repeat(32)}]})
    const dir = project(['download', 'unzip'])
    const run = await seldpipe(dir, standIn.url, 'run', '--matrix', 'dataset=ansim', 'ov=1', 'split=1')
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain(`md5 checksum ${md5(zip)} does not match md5:${'f'.repeat(32)}, the checksum Zenodo record 1237703 lists for ov1_split1.zip`)
    expect(run.stdout).toMatch(/- not run unzip@dataset=ansim,ov=1,split=1/)
    expect(readdirSync(join(dir, 'data', 'ansim')).filter((name) => name.includes('.zip'))).toEqual([])
  }, 60_000)

  it('runs a zip placed by hand in the published layout with the network unreachable', async () => {
    const dir = project(['download', 'unzip'])
    mkdirSync(join(dir, 'data', 'ansim'), {recursive: true})
    writeFileSync(join(dir, 'data', 'ansim', 'ov1_split1.zip'), zip)
    const run = await seldpipe(dir, 'http://127.0.0.1:9', 'run', '--matrix', 'dataset=ansim', 'ov=1', 'split=1')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(readdirSync(join(dir, 'work', 'ansim', 'ov1_split1', 'wav')).sort()).toEqual(['test_000.wav', 'train_000.wav', 'train_001.wav'])
    expect(readFileSync(join(dir, 'cache', 'logs', 'download@dataset=ansim,ov=1,split=1.log'), 'utf8')).toMatch(/ov1_split1\.zip: present/)
  }, 60_000)
})
