import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import yauzl from 'yauzl'
import {afterAll, describe, expect, it} from 'vitest'
import {DCASE2016_CLASSES, datasetSpec} from '../../src/seld/features/datasets.js'
import {parseDescCsv} from '../../src/seld/features/labels.js'
import {Random} from '../../src/seld/synth/random.js'
import {AZIMUTHS, DESC_HEADER, ELEVATIONS, descCsv, planScene, type SceneEvent} from '../../src/seld/synth/scene.js'
import {ProceduralBank} from '../../src/seld/synth/sources.js'
import {datasetOptions, recordingIds, synthesizeSplit, type SynthOptions} from '../../src/seld/synth/synthesize.js'
import {parseWav, writeWav, floatToPcm16} from '../../src/seld/io/wav.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const FS = 44100
const CLASSES = Object.keys(DCASE2016_CLASSES)
const bank = new ProceduralBank(CLASSES, 2018, FS)
const work = mkdtempSync(path.join(tmpdir(), 'seldpipe-synth-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

function scenes(ov: number, count: number, shiftDoa = false, set: 'train' | 'test' = 'train'): SceneEvent[][] {
  return Array.from({length: count}, (_, i) => planScene(Random.from('scene-test', ov, i), {classes: CLASSES, bank, set, sampleRate: FS, length: 30 * FS, ov, shiftDoa}))
}

/** Most events sounding at any one sample. */
function maxConcurrent(events: SceneEvent[]): number {
  const edges = events.flatMap((e) => [[e.start, 1], [e.start + e.length, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let active = 0
  let most = 0
  for (const [, step] of edges) most = Math.max(most, (active += step))
  return most
}

function overlaps(a: SceneEvent, b: SceneEvent): boolean {
  return a.start < b.start + b.length && b.start < a.start + a.length
}

/** Entry names (in archive order) and contents of a zip. */
function readZip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, {lazyEntries: true}, (error, zip) => {
      if (error) return reject(error)
      const entries = new Map<string, Buffer>()
      zip.on('error', reject)
      zip.on('end', () => resolve(entries))
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError)
          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk))
          stream.on('error', reject)
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks))
            zip.readEntry()
          })
        })
      })
      zip.readEntry()
    })
  })
}

function smallOptions(overrides: Partial<SynthOptions> = {}): SynthOptions {
  return datasetOptions(datasetSpec('synth-foa'), {
    ov: 2, split: 1, trainFiles: 2, testFiles: 1, duration: 4, seed: 2018, rt60: 0.4, shiftTestDoa: false, ...overrides,
  })
}

describe('scene placement', () => {
  it('never has more than ov events at once, and reaches ov when ov > 1', () => {
    for (const ov of [1, 2, 3]) {
      const planned = scenes(ov, 4)
      for (const events of planned) expect(maxConcurrent(events)).toBeLessThanOrEqual(ov)
      expect(Math.max(...planned.map(maxConcurrent))).toBe(ov)
    }
  })

  it('keeps overlapping events apart in class and in direction', () => {
    for (const events of scenes(3, 6)) {
      for (const a of events) {
        for (const b of events) {
          if (a === b || !overlaps(a, b)) continue
          expect(a.className).not.toBe(b.className)
          expect([a.azimuth, a.elevation]).not.toEqual([b.azimuth, b.elevation])
        }
      }
    }
  })

  it('places events on the 10° grid at 1–10 m, or 5° off it for the unseen-DOA test', () => {
    const onGrid = scenes(2, 6).flat()
    for (const e of onGrid) {
      expect(AZIMUTHS).toContain(e.azimuth)
      expect(ELEVATIONS).toContain(e.elevation)
      expect(e.distance).toBeGreaterThanOrEqual(1)
      expect(e.distance).toBeLessThanOrEqual(10)
      expect(Math.round(e.distance * 10) / 10).toBe(e.distance)
    }
    expect(Math.min(...onGrid.map((e) => e.azimuth))).toBe(-180)
    expect(Math.max(...onGrid.map((e) => e.azimuth))).toBe(170)
    expect(new Set(onGrid.map((e) => e.elevation)).size).toBe(12)
    for (const e of scenes(2, 3, true, 'test').flat()) {
      expect(AZIMUTHS).toContain(e.azimuth - 5)
      expect(ELEVATIONS).toContain(e.elevation - 5)
    }
  })

  it('spreads events with gaps across the whole recording', () => {
    for (const events of scenes(1, 6)) {
      expect(events.length).toBeGreaterThanOrEqual(8)
      expect(events[0].start).toBeLessThan(2.1 * FS)
      const last = events[events.length - 1]
      expect(last.start + last.length).toBeLessThanOrEqual(30 * FS)
      expect(last.start + last.length).toBeGreaterThan(25 * FS)
      for (let i = 1; i < events.length; i++) expect(events[i].start - (events[i - 1].start + events[i - 1].length)).toBeGreaterThanOrEqual(0.4 * FS - 1)
    }
  })

  it('draws test sounds from other instances than train sounds', () => {
    const numbers = (set: 'train' | 'test') => new Set(scenes(1, 4, false, set).flat().map((e) => e.number % 4 === 3))
    expect(numbers('train')).toEqual(new Set([false]))
    expect(numbers('test')).toEqual(new Set([true]))
  })
})

describe('description csv', () => {
  it('has the TUT 2018 header and row format, and reads back as the planned events', () => {
    const events = scenes(2, 1)[0]
    const text = descCsv(events, FS)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe(DESC_HEADER)
    expect(lines[0]).toBe('sound_event_recording,start_time,end_time,ele,azi,dist')
    for (const line of lines.slice(1)) expect(line).toMatch(/^[a-zA-Z]+\d{3}\.wav,\d+\.\d{6},\d+\.\d{6},-?\d+,-?\d+,\d+\.\d$/)
    const parsed = parseDescCsv(text, 'planned.csv', DCASE2016_CLASSES)
    expect(parsed.map((e) => [e.className, e.azimuth, e.elevation, e.distance])).toEqual(events.map((e) => [e.className, e.azimuth, e.elevation, e.distance]))
    parsed.forEach((row, i) => {
      expect(row.start * FS).toBeCloseTo(events[i].start, 0)
      expect(row.end * FS).toBeCloseTo(events[i].start + events[i].length, 0)
    })
  })
})

describe('synthesizeSplit', () => {
  it('writes one zip as published, both folders at its root, matching wav and csv names, 4 FOA channels at 44.1 kHz 16-bit', async () => {
    const out = path.join(work, 'layout')
    await synthesizeSplit(smallOptions(), out)
    expect(readdirSync(out).sort()).toEqual(['ov2_split1.zip'])
    const entries = await readZip(path.join(out, 'ov2_split1.zip'))
    const wavs = entries
    const descs = entries
    const names = recordingIds(2, 1).map((id) => id.name)
    expect(names).toEqual(['train_000', 'train_001', 'test_000'])
    expect([...entries.keys()]).toEqual([
      'wav_ov2_split1_30db/', ...names.map((n) => `wav_ov2_split1_30db/${n}.wav`),
      'desc_ov2_split1/', ...names.map((n) => `desc_ov2_split1/${n}.csv`),
    ])
    for (const name of names) {
      const pcm = parseWav(wavs.get(`wav_ov2_split1_30db/${name}.wav`) as Buffer, name, {channels: 4, sampleRate: FS})
      expect(pcm.samples.length).toBe(4 * 4 * FS)
      const events = parseDescCsv((descs.get(`desc_ov2_split1/${name}.csv`) as Buffer).toString(), name, DCASE2016_CLASSES)
      expect(events.length).toBeGreaterThan(0)
      // Where an event sounds, the recording is well above its ambient noise.
      const energy = (from: number, to: number) => {
        let sum = 0
        for (let i = Math.floor(from * FS); i < Math.floor(to * FS); i++) sum += (pcm.samples[4 * i] / 32768) ** 2
        return sum / (Math.floor(to * FS) - Math.floor(from * FS))
      }
      const loudest = Math.max(...events.map((e) => energy(e.start, e.end)))
      const quiet = energy(0, Math.min(...events.map((e) => e.start)))
      expect(10 * Math.log10(loudest / quiet)).toBeGreaterThan(20)
    }
  })

  it('gives byte-identical zips for the same arguments, and other recordings for another split or overlap', async () => {
    const run = async (name: string, overrides: Partial<SynthOptions>) => {
      const {zip} = await synthesizeSplit(smallOptions({trainFiles: 1, testFiles: 1, ...overrides}), path.join(work, name))
      return {zip: readFileSync(zip), recording: [...(await readZip(zip)).values()][1]}
    }
    const first = await run('same-a', {})
    const again = await run('same-b', {})
    expect(again.zip.equals(first.zip)).toBe(true)
    expect((await run('split2', {split: 2})).recording.equals(first.recording)).toBe(false)
    expect((await run('ov1', {ov: 1})).recording.equals(first.recording)).toBe(false)
  })

  it('writes 8 microphone channels for the array kind, with the same scenes as the FOA kind', async () => {
    const scene = {ov: 2, split: 1, trainFiles: 1, testFiles: 0, duration: 4, seed: 2018, rt60: 0.3, shiftTestDoa: false}
    const mic = await synthesizeSplit(datasetOptions(datasetSpec('synth-mic-reverb'), scene), path.join(work, 'mic'))
    const foa = await synthesizeSplit(smallOptions({trainFiles: 1, testFiles: 0}), path.join(work, 'foa'))
    const wav = (await readZip(mic.zip)).get('wav_ov2_split1_30db/train_000.wav') as Buffer
    expect(parseWav(wav, 'mic', {channels: 8, sampleRate: FS}).samples.length).toBe(8 * 4 * FS)
    expect((await readZip(mic.zip)).get('desc_ov2_split1/train_000.csv')).toEqual((await readZip(foa.zip)).get('desc_ov2_split1/train_000.csv'))
  })

  it('refuses bad options clearly, and leaves nothing partial when a recording fails', async () => {
    await expect(synthesizeSplit(smallOptions({ov: 0}), path.join(work, 'bad'))).rejects.toThrow(/ov must be an integer ≥ 1/)
    await expect(synthesizeSplit(smallOptions({duration: -1}), path.join(work, 'bad'))).rejects.toThrow(/duration/)
    expect(() => datasetOptions(datasetSpec('ansim'), smallOptions())).toThrow(/'ansim' is downloaded, not synthesized/)

    // A sources folder whose 'knock' recording is corrupt: the failure surfaces while the wav zip is being written.
    const sources = path.join(work, 'broken-sources')
    for (const name of CLASSES) {
      mkdirSync(path.join(sources, name), {recursive: true})
      if (name === 'knock') writeFileSync(path.join(sources, name, 'a.wav'), 'not a wav')
      else writeWav(path.join(sources, name, 'a.wav'), floatToPcm16([Float32Array.from({length: 8000}, (_, i) => Math.sin(i / 5))], FS))
    }
    const out = path.join(work, 'broken-out')
    const earlier = await synthesizeSplit(smallOptions({ov: 3}), out)
    const before = readFileSync(earlier.zip)
    await expect(synthesizeSplit(smallOptions({sources, duration: 20, ov: 3}), out)).rejects.toThrow(/knock[/\\]a\.wav: not a readable WAV file/)
    // No partial archive is left, and the archives of the earlier run are untouched.
    expect(readdirSync(out).sort()).toEqual(['ov3_split1.zip'])
    expect(readFileSync(earlier.zip).equals(before)).toBe(true)
  })

  it('uses a folder of real recordings per class, named by their instance number', async () => {
    const sources = path.join(work, 'sources')
    CLASSES.forEach((name, c) => {
      mkdirSync(path.join(sources, name), {recursive: true})
      for (let k = 0; k < 5; k++) {
        const tone = Float32Array.from({length: 0.5 * FS}, (_, i) => 0.3 * Math.sin((2 * Math.PI * (200 + 100 * c + 10 * k) * i) / FS))
        writeWav(path.join(sources, name, `clip${k}.wav`), floatToPcm16([tone, tone], FS))
      }
    })
    const {zip} = await synthesizeSplit(smallOptions({sources, duration: 10}), path.join(work, 'real'))
    const csvs = [...(await readZip(zip)).entries()].filter(([name]) => name.endsWith('.csv'))
    const numbers = (set: string) => csvs.filter(([name]) => name.includes(set))
      .flatMap(([name, text]) => parseDescCsv(text.toString(), name, DCASE2016_CLASSES).map((e) => e.line))
      .length
    expect(numbers('train')).toBeGreaterThan(3)
    // 5 clips per class: clip 3 is held out for the test recordings, clips 0–2 and 4 are the training sounds.
    const instances = (set: string) => new Set(csvs.filter(([name]) => name.includes(set))
      .flatMap(([, text]) => [...text.toString().matchAll(/[a-zA-Z]+(\d{3})\.wav/g)].map((m) => Number(m[1]))))
    expect([...instances('test')]).toEqual([3])
    expect([...instances('train')].every((n) => [0, 1, 2, 4].includes(n))).toBe(true)

    const missing = path.join(work, 'missing-sources')
    mkdirSync(path.join(missing, 'knock'), {recursive: true})
    writeFileSync(path.join(missing, 'knock', 'clip.wav'), readFileSync(path.join(sources, 'knock', 'clip0.wav')))
    const refused = synthesizeSplit(smallOptions({sources: missing}), path.join(work, 'missing-out'))
    await expect(refused).rejects.toThrow(/missing-sources[/\\](\w+): no recordings for class '\1' \(expected .*\*\.wav\)/)
    await expect(refused).rejects.not.toThrow(/'knock'/)
  })
})

describe('seldpipe synth', () => {
  it('writes the zips of the given kind, room, overlap and split', async () => {
    const out = path.join(work, 'command')
    const run = spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'synth', '--kind', 'mic', '--room', 'anechoic', '--ov', '1', '--split', '2',
      '--files', '2', '--duration', '3', '--seed', '5', '--out', out], {encoding: 'utf8'})
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const wavs = await readZip(path.join(out, 'ov1_split2.zip'))
    // --test-files defaults to a third of --files, rounded up.
    expect([...wavs.keys()].filter((name) => name.startsWith('wav_'))).toEqual(['wav_ov1_split2_30db/', 'wav_ov1_split2_30db/train_000.wav', 'wav_ov1_split2_30db/train_001.wav', 'wav_ov1_split2_30db/test_000.wav'])
    expect(parseWav(wavs.get('wav_ov1_split2_30db/test_000.wav') as Buffer, 'test_000', {channels: 8}).samples.length).toBe(8 * 3 * FS)
    const bad = spawnSync('node', [path.join(repoRoot, 'bin/run.js'), 'synth', '--kind', 'mic', '--duration', '0', '--out', out], {encoding: 'utf8'})
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/expected a positive number of seconds, got '0'/)
  })
})

describe('synth stage', () => {
  it('takes the pipeline flags and refuses a downloaded dataset with a clear message', () => {
    const out = path.join(work, 'stage')
    const flags = ['--ov', '1', '--split', '1', '--train-files', '1', '--test-files', '1', '--duration', '3', '--seed', '2018', '--rt60', '0.4', '--shift-test-doa', 'true', '--out', out]
    const ok = spawnSync('node', [path.join(repoRoot, 'dist/stages/synth.js'), '--dataset', 'synth-foa', ...flags], {encoding: 'utf8', env: {...process.env, TZ: 'America/Los_Angeles'}})
    expect(ok.stderr).toBe('')
    expect(ok.status).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['ov1_split1.zip'])
    // Zip timestamps are fixed, whatever the machine's time zone: the archives are the same bytes.
    const elsewhere = path.join(work, 'stage-elsewhere')
    const moved = spawnSync('node', [path.join(repoRoot, 'dist/stages/synth.js'), '--dataset', 'synth-foa', ...flags.slice(0, -1), elsewhere],
      {encoding: 'utf8', env: {...process.env, TZ: 'Pacific/Chatham'}})
    expect(moved.status).toBe(0)
    for (const zip of ['ov1_split1.zip']) expect(readFileSync(path.join(elsewhere, zip)).equals(readFileSync(path.join(out, zip)))).toBe(true)
    const bad = spawnSync('node', [path.join(repoRoot, 'dist/stages/synth.js'), '--dataset', 'ansim', ...flags], {encoding: 'utf8'})
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/dataset 'ansim' is downloaded, not synthesized/)
    const flag = spawnSync('node', [path.join(repoRoot, 'dist/stages/synth.js'), '--dataset', 'synth-foa', ...flags.map((f) => (f === 'true' ? 'yes' : f))], {encoding: 'utf8'})
    expect(flag.status).toBe(1)
    expect(flag.stderr).toMatch(/--shift-test-doa must be true or false, got 'yes'/)
  })
})
