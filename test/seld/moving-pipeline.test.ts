import {spawnSync} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import {afterAll, describe, expect, it} from 'vitest'
import {readNpy} from '../../src/seld/io/npy.js'
import {repoRoot} from '../conformance.js'

/**
 * The repository's pipeline up to the labels stage, on the synthetic moving dataset, in a temporary project that
 * runs the built stage scripts: the moving dataset goes through the same stages as the others, and its labels move.
 */
describe('the pipeline on synth-foa-moving', () => {
  const project = mkdtempSync(path.join(tmpdir(), 'seldpipe-moving-'))
  afterAll(() => rmSync(project, {recursive: true, force: true}))

  it('synthesizes, unzips and labels a moving split whose label trajectories turn', () => {
    const pipeline = YAML.parse(readFileSync(path.join(repoRoot, 'pipeline.yaml'), 'utf8'))
    const upToLabels = Object.keys(pipeline.stages).slice(0, Object.keys(pipeline.stages).indexOf('labels') + 1)
    pipeline.stages = Object.fromEntries(upToLabels.map((name) => [name, pipeline.stages[name]]))
    writeFileSync(path.join(project, 'pipeline.yaml'), YAML.stringify(pipeline))
    cpSync(path.join(repoRoot, 'params'), path.join(project, 'params'), {recursive: true})
    cpSync(path.join(repoRoot, 'params.schema.json'), path.join(project, 'params.schema.json'))
    symlinkSync(path.join(repoRoot, 'dist'), path.join(project, 'dist'))
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'run.js'), 'run', '--matrix', 'dataset=synth-foa-moving',
      '--set', 'synth.train_files=2', '--set', 'synth.test_files=1', '--set', 'synth.duration=8'], {cwd: project, encoding: 'utf8'})
    expect(run.status, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toMatch(/ran labels@dataset=synth-foa-moving,ov=1,split=1/)

    const labels = path.join(project, 'work', 'synth-foa-moving', 'ov1_split1', 'labels')
    const names = readdirSync(labels).filter((name) => !name.endsWith('.targets.npy'))
    expect(names).toEqual(['test_000.npy', 'train_000.npy', 'train_001.npy'])
    // The widest azimuth or elevation span within one class's run of labelled frames, in degrees.
    let widest = 0
    for (const name of names) {
      const {shape, data} = readNpy(path.join(labels, name))
      const [frames, width] = shape
      const K = width / 3
      for (let k = 0; k < K; k++) {
        let run: number[][] = []
        for (let f = 0; f <= frames; f++) {
          const labelled = f < frames && data[f * width + k] === 1 && data[f * width + K + k] !== 180
          if (labelled) run.push([data[f * width + K + k], data[f * width + 2 * K + k]])
          else if (run.length > 0) {
            const span = (i: number) => Math.max(...run.map((d) => d[i])) - Math.min(...run.map((d) => d[i]))
            // An azimuth wrapping across ±180° spans nearly 360°: leave it out.
            if (span(0) < 180) widest = Math.max(widest, span(0), span(1))
            run = []
          }
        }
      }
    }
    expect(widest).toBeGreaterThanOrEqual(10)
  }, 120_000)
})
