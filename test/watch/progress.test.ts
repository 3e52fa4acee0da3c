import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {ProgressScanner} from '../../src/pipeline/run/stage-progress.js'
import {LogTail} from '../../src/pipeline/executors/slurm/slurm-executor.js'
import {describeProgress, estimateRemainingSeconds} from '../../src/seld/train/train-progress.js'
import {cli, ensureBuilt, nodeEval} from '../pipeline/cli.js'
import {useTempDirs} from '../pipeline/helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

describe('progress lines', () => {
  it('are found across chunk boundaries, split multi-byte characters included; other lines are not', () => {
    const seen: string[] = []
    const scanner = new ProgressScanner((text) => seen.push(text))
    const bytes = Buffer.from('hello\n::progress epoch 1/2  DOA 3.0°\r\nx ::progress no\n::prog')
    const cut = bytes.indexOf(0xb0) // inside the two bytes of °
    scanner.push(bytes.subarray(0, cut))
    scanner.push(bytes.subarray(cut))
    expect(seen).toEqual(['epoch 1/2  DOA 3.0°'])
    scanner.push('ress last one\n')
    expect(seen).toEqual(['epoch 1/2  DOA 3.0°', 'last one'])
  })

  it('without a terminal stream to stdout prefixed with the instance id, and stay in the log', async () => {
    const stage = nodeEval("for(const[i,t]of['a','b'].entries())console.log('::progress\\x20step\\x20'+(i+1)+'/2\\x20'+t);console.log('plain');require('fs').writeFileSync(process.argv[1],'x')", 'out-${x}.txt')
    const dir = tempDir({'pipeline.yaml': `version: 1\nmatrix: {x: [1, 2]}\nstages:\n  step:\n    cmd: ${stage}\n    outs: ["out-\${x}.txt"]\n`})
    const result = await cli(dir, 'run', '--jobs', '2')
    expect(result.exitCode).toBe(0)
    for (const x of [1, 2]) {
      expect(result.stdout).toContain(`step@x=${x}: step 1/2 a`)
      expect(result.stdout).toContain(`step@x=${x}: step 2/2 b`)
      expect(readFileSync(join(dir, 'cache', 'logs', `step@x=${x}.log`), 'utf8')).toContain('::progress step 2/2 b\nplain\n')
    }
    expect(result.stdout).not.toContain('plain')
  })
})

describe('training progress', () => {
  it('estimates the time left from the epochs so far, within the time budget', () => {
    expect(estimateRemainingSeconds({epochSeconds: [], epochs: 10, currentSeconds: 0, currentFraction: 0, maxMinutes: 0})).toBeUndefined()
    // A quarter of the first epoch took 10 s: 40 s per epoch, 9.75 epochs left.
    expect(estimateRemainingSeconds({epochSeconds: [], epochs: 10, currentSeconds: 10, currentFraction: 0.25, maxMinutes: 0})).toBeCloseTo(390)
    expect(estimateRemainingSeconds({epochSeconds: [30, 50], epochs: 10, currentSeconds: 0, currentFraction: 0, maxMinutes: 0})).toBeCloseTo(320)
    // A 2-minute budget of which 80 s are spent.
    expect(estimateRemainingSeconds({epochSeconds: [30, 50], epochs: 10, currentSeconds: 0, currentFraction: 0, maxMinutes: 2})).toBeCloseTo(40)
  })

  it('reads as one line: epoch, loss, SELD score, best and time left', () => {
    expect(describeProgress({phase: 'epoch', epoch: 3, epochs: 40, loss: 0.8412, seldScore: 0.38, bestScore: 0.38, etaSeconds: 420})).toBe('epoch 3/40  loss 0.841  SELD 0.380  (best 0.380)  eta 7m')
    expect(describeProgress({phase: 'batch', epoch: 4, epochs: 40, batch: 20, batches: 120, loss: 0.7, seldScore: 0.38, bestScore: 0.35, etaSeconds: 3700}))
      .toBe('epoch 4/40 batch 20/120  loss 0.700  last SELD 0.380  (best 0.350)  eta 1h02m')
    expect(describeProgress({phase: 'scoring', epoch: 1, epochs: 2, loss: NaN, etaSeconds: 5})).toBe('epoch 1/2  scoring  loss n/a  eta 5s')
  })
})

describe('progress of Slurm jobs', () => {
  it('comes from the job output file as the coordinator copies it into the log, a line split between polls included', async () => {
    const dir = tempDir()
    const output = join(dir, '1.out')
    const seen: string[] = []
    const tail = new LogTail(output, undefined, new ProgressScanner((text) => seen.push(text)))
    const log = await open(join(dir, 'job.log'), 'w')
    await tail.drainInto(log) // Slurm has not created the file yet
    writeFileSync(output, 'starting\n::progress epoch 1/2  SE')
    await tail.drainInto(log)
    expect(seen).toEqual([])
    appendFileSync(output, 'LD 0.5\n::progress epoch 2/2\n')
    await tail.drainInto(log)
    await log.close()
    expect(seen).toEqual(['epoch 1/2  SELD 0.5', 'epoch 2/2'])
    expect(readFileSync(join(dir, 'job.log'), 'utf8')).toBe('starting\n::progress epoch 1/2  SELD 0.5\n::progress epoch 2/2\n')
  })
})
