import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ensureBuilt, repoRoot} from '../pipeline/cli.js'
import {projectFiles} from '../pipeline/fixture.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {TerminalSession, until} from './terminal-session.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)
const sessions: TerminalSession[] = []
afterAll(() => {
  for (const session of sessions) session.close()
})

describe('the shell around seldpipe', () => {
  it('completes commands and their flags (bash), from the commands of this build', async () => {
    const cacheHome = tempDir()
    const run = await execa('node', [join(repoRoot, 'bin', 'run.js'), 'autocomplete', '--refresh-cache'], {env: {XDG_CACHE_HOME: cacheHome}, reject: false})
    expect(run.exitCode).toBe(0)
    const completions = readFileSync(join(cacheHome, 'seldpipe', 'autocomplete', 'functions', 'bash', 'seldpipe.bash'), 'utf8')
    expect(completions).toMatch(/^report --json --pipeline --matrix --params --set --out$/m)
    expect(completions).toMatch(/^status --json --pipeline --matrix --params --set$/m)
  })

  it('asks "did you mean" for a mistyped command in a terminal, and runs the suggestion when told yes', async () => {
    const dir = tempDir(projectFiles())
    const session = new TerminalSession(dir, ['stauts'])
    sessions.push(session)
    await until('the question', () => session.screen().includes('Did you mean status?'), 20_000)
    session.send('Enter')
    expect(await until('the command to end', () => session.exitCode(), 20_000)).toBe(0)
    expect(session.screen()).toContain('6 instances: 0 up to date, 6 stale')
  })
})
