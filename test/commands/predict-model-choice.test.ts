import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {Cache} from '../../src/pipeline/state/cache.js'
import {Hasher} from '../../src/pipeline/state/hash.js'
import {saveFixedModel, writeNoiseWav} from '../seld/predict-fixture.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
let project: string
const at = (...parts: string[]) => path.join(project, ...parts)

function predict(args: string[]) {
  const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'run.js'), 'predict', ...args], {cwd: project, encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '1000'}})
  return {code: run.status, stdout: run.stdout, stderr: run.stderr}
}

/** Records `out` in the project's cache as the out of a successful run of instance `id`, as the engine does. */
async function recordSuccess(id: string, out: string): Promise<void> {
  const cache = new Cache(at('cache'))
  try {
    const content = (await new Hasher(new Map()).hashPath(at(out)))!
    const key = `key-of-${id}`
    await cache.commit(id, key, {key, argv: [], deps: {}, params: {}, upstream: {}}, [{path: out, content}])
  } finally {
    await cache.close()
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu')
  project = mkdtempSync(path.join(tmpdir(), 'seldpipe-predict-choice-'))
  writeFileSync(at('pipeline.yaml'), 'version: 1\n')
  mkdirSync(at('audio'))
  writeNoiseWav(at('audio', 'rec.wav'), 22100)
})
afterAll(() => rmSync(project, {recursive: true, force: true}))

describe('seldpipe predict without --model', () => {
  it('uses the model the cache recorded for the newest successful train instance, not a newer unfinished one, and names it', async () => {
    const trained = 'work/synth-foa/ov1_split1/model'
    await saveFixedModel(at(trained), {classIndex: 3, activity: 0.9, azimuth: 60, elevation: 20})
    await recordSuccess('train@dataset=synth-foa,ov=1,split=1', trained)
    // A newer model folder, left by a killed training the cache never recorded.
    const unfinished = 'work/synth-foa/ov2_split1/model'
    await saveFixedModel(at(unfinished), {classIndex: 5, activity: 0.8, azimuth: -90, elevation: 0})
    const later = Date.now() / 1000 + 60
    utimesSync(at(unfinished, 'best'), later, later)

    const run = predict(['audio/rec.wav', '--no-plot'])
    expect(run.stderr).toContain('using the model of train@dataset=synth-foa,ov=1,split=1, the newest successful training (finished ')
    expect(run.stderr).toContain(`model: ${at(trained, 'best')}`)
    expect(run.code).toBe(0)
    expect(readFileSync(at('audio', 'rec.csv'), 'utf8')).toMatch(/^class,.*\nphone,/)

    // The recorded model overwritten by a later, killed run: no longer what the cache recorded, so it is not used.
    await saveFixedModel(at(trained), {classIndex: 1, activity: 0.7, azimuth: 0, elevation: 0})
    const refused = predict(['audio/rec.wav', '--no-plot'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('no successful train instance in')
    expect(refused.stderr).toContain('an unfinished training\'s model is not used')
  })
})
