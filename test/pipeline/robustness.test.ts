import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt, nodeEval, startCli} from './cli.js'
import {projectFiles, ranSince} from './fixture.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const project = () => tempDir(projectFiles())

/** The fixture plus `slow`, which writes part of its out, then waits while the file `hold` exists. */
function slowProject(): string {
  const slow = nodeEval(
    "const[d]=process.argv.slice(1),fs=require('fs');fs.mkdirSync('slow/'+d,{recursive:true});fs.writeFileSync('slow/'+d+'/part1','1');fs.appendFileSync('runs.log','slow-'+d+'\\n');setInterval(()=>{if(!fs.existsSync('hold')){fs.writeFileSync('slow/'+d+'/part2','2');process.exit(0)}},50)",
    '${ds}',
  )
  const files = projectFiles()
  files['pipeline.yaml'] += `  slow:\n    cmd: ${slow}\n    deps: ["work/\${ds}/prep.txt"]\n    outs: ["slow/\${ds}"]\n`
  return tempDir({...files, hold: ''})
}

/** Polls `condition`; fails early, with its output, if the CLI process it depends on ends first. */
async function waitFor(condition: () => boolean, what: string, process: ReturnType<typeof startCli>): Promise<void> {
  let ended: {stdout: unknown; stderr: unknown} | undefined
  void process.then((result) => (ended = result))
  for (let waited = 0; !condition(); waited += 50) {
    if (ended) throw new Error(`seldpipe ended before ${what}:\n${String(ended.stdout)}\n${String(ended.stderr)}`)
    if (waited > 60_000) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describe('seldpipe run failures', () => {
  it('isolates a failure: no record, downstream not run, independent instances run, stderr tail shown, non-zero exit', async () => {
    const dir = project()
    const ran = ranSince(dir)
    const result = await cli(dir, 'run', '--jobs', '2', '--matrix', 'ds=a,bad')
    expect(result.exitCode).toBe(1)
    expect(ran()).toEqual(['feat-a', 'feat-bad', 'prep-a', 'prep-bad', 'report-a'])
    expect(result.stdout).toMatch(/failed feat@ds=bad: exit code 3\n\s+boom:bad\n\s+log: cache\/logs\/feat@ds=bad\.log/)
    expect(result.stdout).toContain('not run report@ds=bad: upstream feat@ds=bad did not succeed')
    expect(readFileSync(join(dir, 'cache/logs/feat@ds=bad.log'), 'utf8')).toContain('boom:bad')
    const status = (await cli(dir, 'status', '--matrix', 'ds=a,bad')).stdout
    expect(status).toMatch(/stale\s+feat@ds=bad\s+never run/)
    expect(status).toMatch(/up to date\s+report@ds=a/)
  })

  it('fails an instance whose dep neither exists nor is produced, naming the path', async () => {
    const dir = project()
    const result = await cli(dir, 'run', '--matrix', 'ds=a,zz', '--jobs', '2')
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('failed prep@ds=zz: dep missing: raw/zz.txt')
    expect((await cli(dir, 'status', '--matrix', 'ds=zz')).stdout).toMatch(/stale\s+prep@ds=zz\s+dep missing: raw\/zz\.txt/)
  })

  it('fails an instance that exits 0 without writing a declared out', async () => {
    const dir = tempDir({'pipeline.yaml': `version: 1\nstages:\n  lazy:\n    cmd: ${nodeEval('0')}\n    outs: [never.txt]\n`})
    const result = await cli(dir, 'run')
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('failed lazy: exited 0 but did not write its out never.txt')
  })

  it('after SIGKILL in the middle of a stage, records nothing for it and the next run redoes just what was unfinished', async () => {
    const dir = slowProject()
    const ran = ranSince(dir)
    const victim = startCli(dir, ['run', '--matrix', 'ds=a'])
    await waitFor(() => ran().includes('slow-a'), 'the slow stage started', victim)
    victim.kill('SIGKILL')
    await victim
    const status = JSON.parse((await cli(dir, 'status', '--matrix', 'ds=a', '--json')).stdout) as {id: string; state: string; reasons: {kind: string}[]}[]
    expect(status.find((row) => row.id === 'slow@ds=a')).toMatchObject({state: 'stale', reasons: [{kind: 'never run', text: 'never run'}]})
    expect(status.find((row) => row.id === 'prep@ds=a')?.state).toBe('up to date')
    // The next run stops the command the killed run left behind, then redoes only the unfinished instances.
    const rerun = startCli(dir, ['run', '--matrix', 'ds=a'])
    await waitFor(() => ran().includes('slow-a'), 'the rerun started the slow stage', rerun)
    rmSync(join(dir, 'hold'))
    const result = await rerun
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toMatch(/stopped slow@ds=a \(pid \d+\), left running by a killed run/)
    expect(ran()).toEqual(['report-a'])
    expect(readFileSync(join(dir, 'slow/a/part1'), 'utf8') + readFileSync(join(dir, 'slow/a/part2'), 'utf8')).toBe('12')
  })

  it('two concurrent runs: the second waits for the lock, then finds everything done', async () => {
    const dir = slowProject()
    const first = startCli(dir, ['run', '--jobs', '2', '--matrix', 'ds=a'])
    await waitFor(() => ranSince(dir)().includes('slow-a'), 'the first run started the slow stage', first)
    const second = startCli(dir, ['run', '--jobs', '2', '--matrix', 'ds=a'])
    let waiting = ''
    second.stderr.on('data', (chunk: Buffer) => (waiting += chunk.toString()))
    await waitFor(() => waiting.includes('waiting for the seldpipe run holding'), 'the second run waited', second)
    rmSync(join(dir, 'hold'))
    const [firstResult, secondResult] = await Promise.all([first, second])
    expect([firstResult.exitCode, secondResult.exitCode]).toEqual([0, 0])
    expect(waiting).toMatch(/cache\/lock \(pid \d+ on /)
    expect(secondResult.stdout).toContain('0 ran, 0 restored, 4 up to date')
    expect(ranSince(dir)()).toEqual(['feat-a', 'prep-a', 'report-a', 'slow-a'])
    expect(existsSync(join(dir, 'cache', 'lock'))).toBe(false)
  })
})

describe('seldpipe run --jobs', () => {
  it('runs independent instances at the same time', async () => {
    // Each instance marks that it started, then waits for the other's mark: both finish only if they overlap.
    const meet = nodeEval(
      "const[me,other]=process.argv.slice(1),fs=require('fs');fs.writeFileSync('started-'+me,'');setInterval(()=>{if(fs.existsSync('started-'+other)){fs.writeFileSync('met-'+me,'');process.exit(0)}},20);setTimeout(()=>process.exit(1),30000)",
      '${x}',
      '${y}',
    )
    const dir = tempDir({'pipeline.yaml': `version: 1\nmatrix: {x: [a], y: [b]}\nstages:\n  one:\n    cmd: ${meet}\n    outs: ["met-\${x}"]\n  two:\n    cmd: ${meet.replace('${x} ${y}', '${y} ${x}')}\n    outs: ["met-\${y}"]\n`})
    const result = await cli(dir, 'run', '--jobs', '2')
    expect(result.stdout).toContain('2 ran')
    expect(result.exitCode).toBe(0)
  })
})

describe('command line', () => {
  it('--matrix replaces default values; instance counts follow the keys each stage references', async () => {
    const dir = tempDir({
      'pipeline.yaml': [
        'version: 1',
        'matrix: {ds: [a], ov: [1], split: [1]}',
        'stages:',
        '  per_dataset: {cmd: "x ${ds}", outs: ["d/${ds}"]}',
        '  per_run: {cmd: "y ${ds} ${ov} ${split}", outs: ["r/${ds}_${ov}_${split}"]}',
        '  synth_only: {cmd: "z ${ds} ${ov}", only: {ds: ["s*"]}, outs: ["s/${ds}_${ov}"]}',
        '',
      ].join('\n'),
    })
    const counts = async (...matrix: string[]) => {
      const rows = JSON.parse((await cli(dir, 'status', '--json', ...matrix)).stdout) as {stage: string}[]
      return ['per_dataset', 'per_run', 'synth_only'].map((stage) => rows.filter((row) => row.stage === stage).length)
    }
    expect(await counts()).toEqual([1, 1, 0])
    expect(await counts('--matrix', 'ds=a,b,s1', 'ov=1,2,3')).toEqual([3, 9, 3])
    const dag = await cli(dir, 'dag', '--matrix', 'ds=a,s1', '--matrix', 'split=1,2', '--dot')
    expect(dag.stdout.match(/^ {2}"[^"]+";$/gm)).toHaveLength(2 + 4 + 1)
  })

  it('reports a bad pipeline, params file or flag with its location, exit code 2, and runs nothing', async () => {
    const dir = project()
    const bad = async (files: Record<string, string>, ...args: string[]) => {
      for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text)
      const result = await cli(dir, ...args)
      expect(result.exitCode).toBe(2)
      return result.stderr.replace(/\s*›\s*/g, ' ')
    }
    const good = projectFiles()['pipeline.yaml']
    const withNumber = good.replace('deps: ["work/${ds}/prep.txt"]', 'deps: ["work/${ds}/prep.txt", 7]')
    const lines = withNumber.split('\n')
    const line = lines.findIndex((text) => text.includes(', 7]'))
    expect(await bad({'pipeline.yaml': withNumber}, 'run')).toContain(`pipeline.yaml:${line + 1}:${lines[line].indexOf('7]') + 1}: stages.feat.deps[1]: must be string`)
    expect(await bad({'pipeline.yaml': good.replace('params: [f]', 'params: [f.m]')}, 'status')).toContain("stages.feat.params[0]: unknown parameter 'f.m'")
    expect(await bad({'pipeline.yaml': good, 'params.yaml': 'p: {scale: 1\n'}, 'run')).toMatch(/params\.yaml:\d+:\d+: invalid YAML/)
    expect(await bad({'params.yaml': 'p: {scale: 1}\nf: {n: 2}\n'}, 'run', '--set', 'p.nope=1')).toContain("--set p.nope=1: unknown parameter 'p.nope'")
    expect(await bad({}, 'dag', '--matrix', 'split=1')).toContain("--matrix split=1: unknown matrix key 'split' (known: ds)")
    expect(await bad({'pipeline.yaml': good.replace('deps: ["raw/${ds}.txt"]', 'deps: ["report-${ds}.txt"]')}, 'run')).toMatch(/dependency cycle: .*prep@ds=a/)
    expect(existsSync(join(dir, 'runs.log'))).toBe(false)
  })
})
