import {cpSync, existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {PipelineError} from '../../src/pipeline/spec/errors.js'
import {loadPipeline} from '../../src/pipeline/spec/pipeline-file.js'
import {cli, ensureBuilt, repoRoot} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

const schema = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  properties: {
    train: {
      type: 'object',
      additionalProperties: false,
      properties: {epochs: {type: 'integer', minimum: 1}, lr: {type: 'number'}, backend: {enum: ['auto', 'cpu']}},
    },
  },
})

const fixture = (params: string, preset = 'train: {lr: 0.5}\n') =>
  tempDir({
    'pipeline.yaml': 'version: 1\nparams: params.yaml\nparams_schema: params.schema.json\nstages:\n  s: {cmd: x, params: [train]}\n',
    'params.schema.json': schema,
    'params.yaml': params,
    'preset.yaml': preset,
  })

async function loadError(dir: string, overrides: {set?: string[]; params?: string[]} = {}): Promise<string> {
  const error = await loadPipeline(join(dir, 'pipeline.yaml'), overrides).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(PipelineError)
  return (error as Error).message.replaceAll(dir + '/', '')
}

const complete = 'train:\n  epochs: 3\n  lr: 0.1\n  backend: auto\n'

describe('a params schema', () => {
  it('accepts complete parameters and partial presets over them', async () => {
    const pipeline = await loadPipeline(join(fixture(complete), 'pipeline.yaml'), {params: [], set: ['train.epochs=5']})
    expect(pipeline.params).toEqual({train: {epochs: 5, lr: 0.1, backend: 'auto'}})
  })

  it('refuses an unknown key or a wrong type in a params file with file:line:col and the key', async () => {
    expect(await loadError(fixture('train:\n  epochs: 3\n  epochz: 3\n  lr: 0.1\n  backend: auto\n'))).toBe('params.yaml:3:3: train.epochz: unknown key')
    expect(await loadError(fixture('train:\n  epochs: three\n  lr: 0.1\n  backend: auto\n'))).toBe('params.yaml:2:11: train.epochs: must be integer')
    const dir = fixture(complete, 'train:\n  backend: gpu\n')
    expect(await loadError(dir, {params: [join(dir, 'preset.yaml')]})).toMatch(/preset\.yaml:2:12: train\.backend: must be one of "auto", "cpu"$/)
  })

  it('refuses a --set value of the wrong type or range, naming the flag and the key', async () => {
    expect(await loadError(fixture(complete), {set: ['train.epochs=abc']})).toBe('--set train.epochs=abc: train.epochs: must be integer')
    expect(await loadError(fixture(complete), {set: ['train.epochs=0']})).toBe('--set train.epochs=0: train.epochs: must be >= 1')
    expect(await loadError(fixture(complete), {set: ['train.epohcs=1']})).toMatch(/^--set train\.epohcs=1: unknown parameter 'train\.epohcs'/)
  })

  it('requires every key once the files are merged', async () => {
    expect(await loadError(fixture('train: {epochs: 3, lr: 0.1}\n'))).toBe("parameters: train: must have required property 'backend' (after merging params.yaml)")
  })
})

describe('the repository params', () => {
  it('every params file references params.schema.json for editors, and the pipeline checks against it', async () => {
    const files = readdirSync(join(repoRoot, 'params')).filter((name) => name.endsWith('.yaml'))
    expect(files.length).toBeGreaterThan(1)
    for (const name of files) {
      expect(readFileSync(join(repoRoot, 'params', name), 'utf8').split('\n')[0], name).toBe('# yaml-language-server: $schema=../params.schema.json')
      // Each preset loads over the defaults.
      await loadPipeline(join(repoRoot, 'pipeline.yaml'), {params: [join(repoRoot, 'params', name)]})
    }
  })

  describe('from the command line', () => {
    beforeAll(ensureBuilt)

    it('exits 2 naming the key for --set train.lrr, --set train.batch=abc, train.epochs=0 and an unknown key in a file, and runs nothing', async () => {
      const dir = tempDir()
      for (const name of ['pipeline.yaml', 'params.schema.json', 'pipeline.schema.json', 'params']) cpSync(join(repoRoot, name), join(dir, name), {recursive: true})
      writeFileSync(join(dir, 'typo.yaml'), '# a preset with a typo\ntrain: {epochz: 3}\n')
      const cases: [string[], RegExp][] = [
        [['--set', 'train.lrr=0.1'], /--set train\.lrr=0\.1: unknown parameter 'train\.lrr'/],
        [['--set', 'train.batch=abc'], /--set train\.batch=abc: train\.batch: must be integer/],
        [['--set', 'train.epochs=0'], /--set train\.epochs=0: train\.epochs: must be >= 1/],
        [['--set', 'train.patience=0'], /--set train\.patience=0: train\.patience: must be >= 1/],
        [['--params', 'typo.yaml'], /typo\.yaml:2:9: train\.epochz: unknown key/],
        [['--matrix', 'train.lr=0.001,fast'], /--matrix train\.lr=fast: train\.lr: must be number/],
      ]
      for (const [args, message] of cases) {
        const result = await cli(dir, 'run', ...args)
        expect(result.exitCode, args.join(' ')).toBe(2)
        expect(result.stderr.replaceAll(/\s*›\s*/g, ' ')).toMatch(message)
      }
      expect(existsSync(join(dir, 'cache')) || existsSync(join(dir, 'data')) || existsSync(join(dir, 'work'))).toBe(false)
    })
  })
})
