import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, cliWithEnv, ensureBuilt, nodeEval, startCli} from './cli.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

interface Span {
  name: string
  /** CUDA_VISIBLE_DEVICES as the command saw it (null: unset). */
  devices: string | null
  growth: string | null
  start: number
  end: number
}

// Each command waits (for `ms` milliseconds, or until the file `release` exists when ms is `release`), then appends
// its name, CUDA_VISIBLE_DEVICES, TF_FORCE_GPU_ALLOW_GROWTH and its start and end times to spans.log.
const recordSpan = nodeEval(
  "const[n,ms]=process.argv.slice(1),fs=require('fs'),s=Date.now(),env=process.env,done=()=>{fs.appendFileSync('spans.log',JSON.stringify({name:n,devices:env.CUDA_VISIBLE_DEVICES??null,growth:env.TF_FORCE_GPU_ALLOW_GROWTH??null,start:s,end:Date.now()})+'\\n');fs.writeFileSync('out/'+n+'.txt',n)},wait=()=>ms==='release'?(fs.existsSync('release')?done():setTimeout(wait,50)):setTimeout(done,+ms);wait()",
  '${name}',
  '${t.ms}',
)

function project(gpuInstances: number, cpuInstances: number, gpusEach = 1): string {
  const list = (count: number) => Array.from({length: count}, (_, index) => index + 1).join(', ')
  const stage = (name: string, key: string, resources: string) => `  ${name}:
    cmd: ${recordSpan.replace('${name}', `${name}-\${${key}}`)}
    params: [t.ms]
    outs: ["out/${name}-\${${key}}.txt"]
${resources}`
  const pipeline = `version: 1
params: params.yaml
matrix:
  g: [${list(gpuInstances)}]
${cpuInstances > 0 ? `  c: [${list(cpuInstances)}]\n` : ''}stages:
${stage('gpu', 'g', `    resources: {gpus: ${gpusEach}}\n`)}${cpuInstances > 0 ? stage('cpu', 'c', '') : ''}`
  return tempDir({'pipeline.yaml': pipeline, 'params.yaml': 't: {ms: 1500}\n'})
}

function spans(dir: string, prefix: string): Span[] {
  const lines = readFileSync(join(dir, 'spans.log'), 'utf8').trim().split('\n')
  return lines.map((line) => JSON.parse(line) as Span).filter((span) => span.name.startsWith(prefix))
}

const overlap = (a: Span, b: Span) => a.start < b.end && b.start < a.end

/** The most spans running at one moment. */
function mostAtOnce(list: Span[]): number {
  return Math.max(...list.map((span) => list.filter((other) => other.start <= span.start && span.start < other.end).length))
}

describe('seldpipe run on GPUs', () => {
  it('runs four one-GPU instances on two GPUs two at a time, each on its own device, CPU instances beside them', async () => {
    const dir = project(4, 2)
    const result = await cliWithEnv(dir, {SELDPIPE_GPUS: '0,1'}, 'run', '--jobs', '4')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain('GPUs 0,1 (SELDPIPE_GPUS=0,1), 1 instance per GPU at a time')
    const gpu = spans(dir, 'gpu-')
    expect(gpu.map((span) => span.name).sort()).toEqual(['gpu-1', 'gpu-2', 'gpu-3', 'gpu-4'])
    for (const span of gpu) {
      expect(['0', '1']).toContain(span.devices)
      expect(span.growth).toBe('true')
    }
    for (const [i, a] of gpu.entries()) for (const b of gpu.slice(i + 1)) if (overlap(a, b)) expect(a.devices).not.toBe(b.devices)
    expect(mostAtOnce(gpu)).toBe(2)
    const cpu = spans(dir, 'cpu-')
    expect(cpu).toHaveLength(2)
    // Instances that ask for no GPU keep the environment seldpipe was started with, and run while GPU ones do.
    for (const span of cpu) expect(span.devices).toBeNull()
    expect(cpu.some((span) => gpu.some((other) => overlap(span, other)))).toBe(true)
  })

  it('SELDPIPE_GPU_SLOTS=2 runs two instances per GPU: four at once on two GPUs', async () => {
    const dir = project(4, 0)
    const result = await cliWithEnv(dir, {SELDPIPE_GPUS: '0,1', SELDPIPE_GPU_SLOTS: '2'}, 'run', '--jobs', '4')
    expect(result.exitCode, result.stderr).toBe(0)
    const gpu = spans(dir, 'gpu-')
    expect(mostAtOnce(gpu)).toBe(4)
    expect(gpu.filter((span) => span.devices === '0')).toHaveLength(2)
    expect(gpu.filter((span) => span.devices === '1')).toHaveLength(2)
  })

  it('with SELDPIPE_GPUS=none a GPU stage still runs, without a GPU, after a one-line notice', async () => {
    const dir = project(2, 0)
    const result = await cliWithEnv(dir, {SELDPIPE_GPUS: 'none'}, 'run', '--jobs', '2')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout.split('\n').filter((line) => line.startsWith('notice:'))).toEqual([
      'notice: no GPU found (SELDPIPE_GPUS=none): instances that ask for GPUs run on the CPU',
    ])
    expect(spans(dir, 'gpu-').map((span) => span.devices)).toEqual(['', ''])
    expect(result.stdout).toContain('2 ran')
  })

  it('an instance asking for more GPUs than exist fails with the reason; a malformed SELDPIPE_GPUS is refused', async () => {
    const dir = project(1, 1, 3)
    const result = await cliWithEnv(dir, {SELDPIPE_GPUS: '0,1'}, 'run')
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('✗ failed gpu@g=1: asks for 3 GPUs, but only GPUs 0,1 (SELDPIPE_GPUS=0,1) exist')
    expect(result.stdout).toContain('1 ran, 0 restored, 0 up to date, 1 failed')
    const bad = await cliWithEnv(dir, {SELDPIPE_GPUS: '0,,1'}, 'run')
    expect(bad.exitCode).toBe(2)
    // oclif wraps its error lines, each starting with ›.
    expect(bad.stderr.replace(/\s*›\s*/g, ' ')).toContain("SELDPIPE_GPUS='0,,1' is not a list of distinct GPU ids such as 0,1,3 or 'none'")
  })

  it('the run output and status show which GPU a running instance holds', async () => {
    const dir = project(1, 0)
    writeFileSync(join(dir, 'params.yaml'), 't: {ms: release}\n')
    const run = startCli(dir, ['run'], {SELDPIPE_GPUS: '3'})
    let status: {id: string; state: string; running?: {gpus: string[] | null}}[] = []
    for (let attempt = 0; attempt < 60 && status[0]?.state !== 'running'; attempt++) {
      await sleep(250)
      status = JSON.parse((await cli(dir, 'status', '--json')).stdout) as typeof status
    }
    expect(status[0]).toMatchObject({id: 'gpu@g=1', state: 'running', running: {gpus: ['3']}})
    expect((await cli(dir, 'status')).stdout).toMatch(/running\s+gpu@g=1\s+\d+s, pid \d+, GPU 3/)
    writeFileSync(join(dir, 'release'), '')
    const result = await run
    expect(result.exitCode).toBe(0)
    expect(String(result.stdout)).toMatch(/running gpu@g=1 \(pid \d+, GPU 3\)/)
    expect(existsSync(join(dir, 'out/gpu-1.txt'))).toBe(true)
  })
})
