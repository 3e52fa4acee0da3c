import {execSync} from 'node:child_process'
import {mkdirSync, readdirSync, rmSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa, type ResultPromise} from 'execa'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = join(repoRoot, 'bin', 'run.js')
const STALE_BUILD_LOCK_MS = 5 * 60_000

function newestMtime(folder: string, extension: string): number {
  return Math.max(0, ...readdirSync(folder, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith(extension)).map((name) => statSync(join(folder, name)).mtimeMs))
}

function isStale(): boolean {
  const sources = Math.max(newestMtime(join(repoRoot, 'src', 'pipeline'), '.ts'), newestMtime(join(repoRoot, 'src', 'commands'), '.ts'))
  try {
    return Math.min(newestMtime(join(repoRoot, 'dist', 'src', 'pipeline'), '.js'), statSync(join(repoRoot, 'dist', 'src', 'commands', 'run.js')).mtimeMs) < sources
  } catch {
    return true // not built yet
  }
}

/**
 * The integration tests drive the built CLI: build it when the pipeline sources are newer than dist/. Test files run
 * in parallel, so one builds while the others wait (a CLI started during a build could load half-written files).
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(repoRoot, 'dist', '.test-build-lock')
  mkdirSync(dirname(lock), {recursive: true})
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // A lock older than any build was left by a killed test run.
      if (Date.now() - (statSync(lock, {throwIfNoEntry: false})?.mtimeMs ?? Date.now()) > STALE_BUILD_LOCK_MS) rmSync(lock, {recursive: true, force: true})
      await sleep(200)
    }
  }
  try {
    if (isStale()) {
      try {
        execSync('npx tsc -p .', {cwd: repoRoot, stdio: 'ignore'})
      } catch {
        // Type errors elsewhere in the tree still emit JavaScript.
      }
    }
  } finally {
    rmSync(lock, {recursive: true, force: true})
  }
}

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Starts `seldpipe ARGS` in `cwd` without waiting (for killing it or running two at once); `env` adds variables. */
export function startCli(cwd: string, args: string[], env: Record<string, string> = {}): ResultPromise<{cwd: string; reject: false; env: Record<string, string>}> {
  return execa('node', [bin, ...args], {cwd, reject: false, env: {NODE_NO_WARNINGS: '1', ...env}})
}

export async function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  return cliWithEnv(cwd, {}, ...args)
}

export async function cliWithEnv(cwd: string, env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const result = await startCli(cwd, args, env)
  return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr)}
}

/** A `node -e` command: the pipeline splits cmd on whitespace, so the code must hold none. */
export function nodeEval(code: string, ...args: string[]): string {
  if (/\s/.test(code)) throw new Error(`node -e code must not contain whitespace: ${code}`)
  return ['node', '-e', code, ...args].join(' ')
}
