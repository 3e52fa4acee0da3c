import {cpSync, existsSync, readFileSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BrowserContext} from 'playwright-core'
import {cli, ensureBuilt, repoRoot} from '../pipeline/cli.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {drawnPixels, launchChromium, openReport} from './browser.js'
import {TerminalSession, until} from './terminal-session.js'

const tempDir = useTempDirs()
beforeAll(ensureBuilt)

/** The default pipeline, shrunk to a run of seconds: 2 training and 1 test recording of 5 s, 2 epochs of 2 batches. */
const TINY = ['--set', 'train.quick_test=true', '--set', 'synth.train_files=2', '--set', 'synth.test_files=1', '--set', 'synth.duration=5']

/** A project with the repository's pipeline, parameters and built stages. */
function defaultProject(): string {
  const dir = tempDir()
  cpSync(join(repoRoot, 'pipeline.yaml'), join(dir, 'pipeline.yaml'))
  cpSync(join(repoRoot, 'params'), join(dir, 'params'), {recursive: true})
  cpSync(join(repoRoot, 'params.schema.json'), join(dir, 'params.schema.json'))
  symlinkSync(join(repoRoot, 'dist'), join(dir, 'dist'))
  return dir
}

const sessions: TerminalSession[] = []
afterAll(() => {
  for (const session of sessions) session.close()
})

describe('watching a run in a terminal, then reading its report', () => {
  it('shows the train line with the epoch and SELD score within 5 s of the epoch\'s end; Ctrl-C stops cleanly; the report opens in Chromium', async () => {
    const dir = defaultProject()
    const session = new TerminalSession(dir, ['run', ...TINY])
    sessions.push(session)
    const log = join(dir, 'work', 'synth-foa', 'ov1_split1', 'model', 'log.jsonl')
    const epochsLogged = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).length : 0)
    for (const epoch of [1, 2]) {
      // The epoch ends when its line lands in log.jsonl; the live line must then show its SELD score.
      await until(`epoch ${epoch} in log.jsonl`, () => epochsLogged() >= epoch, 120_000)
      const ended = Date.now()
      const line = await until(`the epoch ${epoch} line`, () => session.screen().split('\n').find((text) => text.includes(`epoch ${epoch}/2  loss`) && /SELD \d/.test(text)), 10_000)
      expect(Date.now() - ended).toBeLessThan(5000)
      // Live while training goes on; after the last epoch, the line stays once the instance has finished.
      expect(line).toMatch(new RegExp(`(▸ train@dataset=synth-foa,ov=1,split=1 .*|^train@dataset=synth-foa,ov=1,split=1: )epoch ${epoch}/2  loss \\d\\.\\d{3}  SELD \\d+\\.\\d{3}  \\(best \\d+\\.\\d{3}\\)  eta \\d+s`))
      if (epoch === 1) expect(line).toContain('▸ train@')
    }
    expect(await until('the run to end', () => session.exitCode(), 120_000)).toBe(0)
    expect(session.screen()).toContain('7 ran, 0 restored, 0 up to date')
    // Synthesis and features report progress too (2 train + 1 test recordings).
    const stageLog = (stage: string) => readFileSync(join(dir, 'cache', 'logs', `${stage}@dataset=synth-foa,ov=1,split=1.log`), 'utf8')
    expect(stageLog('synth')).toMatch(/^::progress \w+\.wav \(3\/3\)$/m)
    expect(stageLog('features')).toContain('::progress features 3/3 recordings\n')

    // Another training run, interrupted in its first epoch: exit 130, and nothing recorded for train.
    const second = new TerminalSession(dir, ['run', ...TINY, '--set', 'train.seed=2'])
    sessions.push(second)
    await until('training to start', () => second.screen().includes('▸ train@'), 60_000)
    second.send('C-c')
    expect(await until('the interrupted run to end', () => second.exitCode(), 30_000)).toBe(130)
    const afterStop = second.screen()
    expect(afterStop).toContain('SIGINT: stopping running commands; nothing is recorded for them')
    expect(afterStop).not.toContain('▸') // the live lines are gone
    const status = JSON.parse((await cli(dir, 'status', '--json', ...TINY, '--set', 'train.seed=2')).stdout) as {id: string; state: string}[]
    expect(status.find((row) => row.id.startsWith('train@'))!.state).toBe('stale')

    // The first run's result, in a real browser.
    const report = await cli(dir, 'report', ...TINY)
    expect(report.exitCode).toBe(0)
    const chromium = await launchChromium()
    try {
      const {page, errors, requests} = await openReport(chromium.browser as BrowserContext, join(dir, 'report.html'))
      expect(await page.locator('#results tbody tr').count()).toBe(1)
      expect(await page.locator('#results tbody tr td:nth-child(2)').textContent()).toBe('up to date')
      for (const [curve, pixels] of Object.entries(await drawnPixels(page))) expect(pixels, curve).toBeGreaterThan(1000)
      expect(await page.locator('#figures img').evaluateAll((imgs) => imgs.map((img) => (img as unknown as {naturalWidth: number}).naturalWidth > 100))).toEqual([true])
      expect(errors).toEqual([])
      expect(requests).toEqual([])
    } finally {
      await chromium.close()
    }
  })
})
