import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {cli, ensureBuilt, nodeEval} from './cli.js'
import {projectFiles, ranSince} from './fixture.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')
const objectOf = (dir: string, content: Buffer | string) => {
  const hash = sha256(content)
  return join(dir, 'cache', 'objects', hash.slice(0, 2), hash.slice(2))
}

/** Flips 4 bytes in the middle of a cache object, keeping its size (objects are stored read-only). */
function corrupt(object: string): void {
  chmodSync(object, 0o644)
  const bytes = readFileSync(object)
  const at = bytes.length >> 1
  for (let i = at; i < Math.min(bytes.length, at + 4); i++) bytes[i] ^= 0xff
  writeFileSync(object, bytes)
}

describe('verified cache objects', () => {
  it('a corrupt object is never restored: it is deleted, named, and the instance reruns; status then tells the truth', async () => {
    const dir = tempDir(projectFiles())
    const ran = ranSince(dir)
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    ran()
    const report = readFileSync(join(dir, 'report-a.txt'))
    const object = objectOf(dir, report)
    corrupt(object)
    writeFileSync(join(dir, 'report-a.txt'), '')
    const rerun = await cli(dir, 'run', '--matrix', 'ds=a')
    expect(rerun.exitCode).toBe(0)
    expect(rerun.stdout).toContain(`! cache object ${object} is corrupt (its content does not match its name): deleted it; running report@ds=a instead of restoring it`)
    expect(ran()).toEqual(['report-a'])
    expect(readFileSync(join(dir, 'report-a.txt'))).toEqual(report)
    // Running it stored the object again, intact.
    expect(readFileSync(object)).toEqual(report)
    expect((await cli(dir, 'status', '--matrix', 'ds=a')).stdout).toContain('3 instances: 3 up to date, 0 stale')
  })

  it('when the rerun fails too, the run fails with the object named, and nothing is restored or recorded', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    const prep = readFileSync(join(dir, 'work/a/prep.txt'))
    const object = objectOf(dir, prep)
    corrupt(object)
    writeFileSync(join(dir, 'work/a/prep.txt'), 'edited')
    // runs.log (neither dep nor out) made a folder: the rerun of prep fails.
    rmSync(join(dir, 'runs.log'))
    mkdirSync(join(dir, 'runs.log'))
    const rerun = await cli(dir, 'run', '--matrix', 'ds=a')
    expect(rerun.exitCode).toBe(1)
    expect(rerun.stdout).toContain(`cache object ${object} is corrupt`)
    expect(rerun.stdout).toContain('failed prep@ds=a: exit code 1')
    expect(existsSync(join(dir, 'work/a/prep.txt'))).toBe(false)
    expect((await cli(dir, 'status', '--matrix', 'ds=a')).stdout).toMatch(/stale\s+prep@ds=a\s+out missing: work\/a\/prep\.txt; cache\/objects lacks files/)
  })

  it('run --force rewrites objects whose content differs from their name; without it an intact out leaves them be', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    const prep = readFileSync(join(dir, 'work/a/prep.txt'))
    const object = objectOf(dir, prep)
    corrupt(object)
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    expect(readFileSync(object)).not.toEqual(prep)
    expect((await cli(dir, 'run', '--matrix', 'ds=a', '--force')).exitCode).toBe(0)
    expect(readFileSync(object)).toEqual(prep)
    expect(statSync(object).mode & 0o777).toBe(0o444)
  })

  it('cache verify and cache rebuild leave a project without cache/ as it is', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'cache', 'verify')).stdout).toContain('cache does not exist: nothing to verify')
    expect((await cli(dir, 'cache', 'rebuild')).stdout).toContain('cache does not exist: nothing to rebuild')
    expect(existsSync(join(dir, 'cache'))).toBe(false)
  })

  it('seldpipe cache verify checks every object, names and deletes the corrupt ones, exit 1; exit 0 when all match', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    const clean = await cli(dir, 'cache', 'verify')
    expect(clean.exitCode).toBe(0)
    expect(clean.stdout).toMatch(/^\d+ objects checked: every one matches its name$/m)
    const object = objectOf(dir, readFileSync(join(dir, 'work/b/feat/x.txt')))
    corrupt(object)
    const kept = await cli(dir, 'cache', 'verify', '--keep')
    expect(kept.exitCode).toBe(1)
    expect(kept.stdout).toContain(`corrupt: cache/objects/${object.split('/objects/')[1]}\n`)
    expect(existsSync(object)).toBe(true)
    const found = await cli(dir, 'cache', 'verify')
    expect(found.exitCode).toBe(1)
    expect(found.stdout).toContain('(deleted)')
    expect(found.stdout).toMatch(/objects checked: 1 corrupt/)
    expect(existsSync(object)).toBe(false)
    // The instance whose object is gone reruns when its out is deleted, rather than restoring.
    const ran = ranSince(dir)
    ran()
    writeFileSync(join(dir, 'work/b/feat/x.txt'), 'edited')
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect(ran()).toEqual(['feat-b'])
  })
})

describe('a damaged cache index', () => {
  it('truncated: every command stops with one message naming the file and the recovery, not a signal; cache rebuild recovers', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    const index = join(dir, 'cache', 'index.lmdb')
    expect(statSync(index).size).toBeGreaterThan(8192)
    truncateSync(index, 8192)
    for (const command of [['status'], ['run'], ['run', '--dry-run'], ['cache', 'verify']]) {
      const result = await cli(dir, ...command)
      expect(result.exitCode, command.join(' ')).toBe(1)
      const message = result.stderr.replace(/\s*\n\s*›?\s*/g, ' ')
      expect(message).toContain('cache/index.lmdb is damaged (truncated: 8192 bytes, its pages need')
      expect(message).toContain("Delete cache/index.lmdb* (or run 'seldpipe cache rebuild')")
    }
    const rebuilt = await cli(dir, 'cache', 'rebuild')
    expect(rebuilt.exitCode).toBe(0)
    expect(rebuilt.stdout).toContain('cache/index.lmdb was damaged (truncated')
    const ran = ranSince(dir)
    ran()
    const rerun = await cli(dir, 'run', '--matrix', 'ds=a')
    expect(rerun.exitCode).toBe(0)
    expect(ran()).toEqual(['feat-a', 'prep-a', 'report-a'])
    expect((await cli(dir, 'cache', 'rebuild')).stdout).toContain('opens without error: left as it is')
  })

  it('overwritten with other bytes: the same message, exit 1', async () => {
    const dir = tempDir(projectFiles())
    mkdirSync(join(dir, 'cache'))
    writeFileSync(join(dir, 'cache', 'index.lmdb'), Buffer.alloc(20_000, 'not lmdb'))
    const result = await cli(dir, 'status')
    expect(result.exitCode).toBe(1)
    expect(result.stderr.replace(/\s*\n\s*›?\s*/g, ' ')).toContain('cache/index.lmdb is damaged (no LMDB header)')
  })
})

describe('what the engine gives a stage', () => {
  it('SELDPIPE_CACHE_KEY holds the instance key, which changes with any input', async () => {
    const writeKey = nodeEval("require('fs').writeFileSync('key.txt',process.env.SELDPIPE_CACHE_KEY)")
    const dir = tempDir({'pipeline.yaml': `version: 1\nstages:\n  k:\n    cmd: ${writeKey}\n    deps: [in.txt]\n    outs: [key.txt]\n`, 'in.txt': 'one'})
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    const status = JSON.parse((await cli(dir, 'status', '--json')).stdout) as {key: string}[]
    expect(readFileSync(join(dir, 'key.txt'), 'utf8')).toBe(status[0].key)
    writeFileSync(join(dir, 'in.txt'), 'two')
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    const changed = JSON.parse((await cli(dir, 'status', '--json')).stdout) as {key: string}[]
    expect(changed[0].key).not.toBe(status[0].key)
    expect(readFileSync(join(dir, 'key.txt'), 'utf8')).toBe(changed[0].key)
  })
})

describe('outs that would delete what seldpipe needs', () => {
  for (const [out, covered] of [['cache/x', 'cache'], ['params', 'params'], ['pipeline.yaml', 'pipeline.yaml'], ['node_modules/lmdb', 'node_modules'], ['params.yaml', 'params.yaml']]) {
    it(`refuses an out '${out}' at load, exit 2, naming the place`, async () => {
      const files = projectFiles()
      files['pipeline.yaml'] += `  bad:\n    cmd: ${nodeEval('0')}\n    outs: [${out}]\n`
      const dir = tempDir(files)
      const result = await cli(dir, 'run')
      expect(result.exitCode).toBe(2)
      // oclif wraps long messages: read them as one line.
      expect(result.stderr.replace(/\s*\n\s*›?\s*/g, ' ')).toMatch(new RegExp(`pipeline\\.yaml:\\d+:\\d+: stages\\.bad\\.outs\\[0\\]: '${out}' overlaps ${covered}, which seldpipe needs`))
      expect(existsSync(join(dir, 'runs.log'))).toBe(false)
    })
  }
})

describe('leftovers of killed processes', () => {
  it('the next run removes partial outs and temporary objects of dead processes, and keeps those of live ones', async () => {
    const dir = tempDir(projectFiles())
    expect((await cli(dir, 'run', '--matrix', 'ds=a')).exitCode).toBe(0)
    const dead = 2 ** 22 + 12345 // above Linux's default pid_max: no such process
    const live = process.pid
    mkdirSync(join(dir, `work/a/.feat.partial-${dead}/deep`), {recursive: true})
    writeFileSync(join(dir, `work/a/.feat.partial-${dead}/deep/x`), 'half')
    mkdirSync(join(dir, `work/a/.feat.partial-${live}`))
    writeFileSync(join(dir, `work/a/.prep.txt.partial-${dead}`), 'half')
    mkdirSync(join(dir, 'work/a/feat.seldpipe-restore'))
    const objects = join(dir, 'cache', 'objects')
    const prefix = readdirSync(objects)[0]
    writeFileSync(join(objects, prefix, `abc.tmp-${dead}`), 'half')
    const result = await cli(dir, 'run', '--matrix', 'ds=a')
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toMatch(/removed 4 leftovers of killed processes: /)
    expect(readdirSync(join(dir, 'work/a')).sort()).toEqual([`.feat.partial-${live}`, 'feat', 'prep.txt'])
    expect(readdirSync(join(objects, prefix)).some((name) => name.includes('.tmp-'))).toBe(false)
  })
})
