import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BrowserContext} from 'playwright-core'
import {cli, ensureBuilt} from '../pipeline/cli.js'
import {useTempDirs} from '../pipeline/helpers.js'
import {drawnPixels, launchChromium, openReport} from './browser.js'
import {projectFiles} from './report-fixture.js'

const tempDir = useTempDirs()
let chromium: {browser: BrowserContext; close: () => Promise<void>}
beforeAll(async () => {
  await ensureBuilt()
  chromium = await launchChromium()
})
afterAll(() => chromium?.close())

function seldOf(dir: string, cell: string): number {
  return (JSON.parse(readFileSync(join(dir, 'work', 'synth-x', cell, 'eval', 'metrics.json'), 'utf8')) as {seld2018: {seldScore: number}}).seld2018.seldScore
}

describe('seldpipe report', () => {
  it('writes one offline page: a sortable row per evaluate result, curves drawn and toggled, differing parameters marked, figures, no console errors', async () => {
    const dir = tempDir(projectFiles)
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    expect((await cli(dir, 'run', '--matrix', 'ov=2', 'split=1', '--set', 't.lr=0.5')).exitCode).toBe(0)
    const written = await cli(dir, 'report', '--out', 'out/report.html')
    expect(written.stderr).toBe('')
    expect(written.exitCode).toBe(0)
    expect(written.stdout).toContain('wrote out/report.html: 3 runs')
    const file = join(dir, 'out', 'report.html')
    expect(readFileSync(file, 'utf8')).not.toMatch(/<script[^>]+src=|<link[^>]+href=/)

    const {page, errors, requests} = await openReport(chromium.browser, file)
    const rows = page.locator('#results tbody tr')
    expect(await rows.count()).toBe(3)
    // Sorted by SELD score, best first; a click on F1 sorts by it, a second click reverses.
    const seld = {ov1_split1: seldOf(dir, 'ov1_split1'), ov1_split2: seldOf(dir, 'ov1_split2'), ov2_split1: seldOf(dir, 'ov2_split1')}
    const bySeld = Object.entries(seld).sort((a, b) => a[1] - b[1]).map(([cell]) => `synth-x ${cell.replace('_', ' ')}`)
    // Each recorded run is named by its short id, then its cell.
    const labels = async () => (await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as {cells: {textContent: string}[]}).cells[0].textContent))).map((label) => label.replace(/^[0-9a-f]{7} /, ''))
    // ov1 split1 and split2 tie (the stand-in's scores depend on ov and the learning rate only).
    expect((await labels()).sort()).toEqual([...bySeld].sort())
    expect((await labels())[0]).toBe(bySeld[0])
    const seldColumn = await rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as {cells: {textContent: string}[]}).cells[2].textContent)))
    expect(seldColumn).toEqual(Object.values(seld).sort((a, b) => a - b).map((value) => Number(value.toFixed(3))))
    await page.locator('#results th', {hasText: /^F1$/}).click()
    const f1 = () => rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as {cells: {textContent: string}[]}).cells[4].textContent)))
    expect(await f1()).toEqual([0.3, 0.3, 1])
    await page.locator('#results th', {hasText: /^F1$/}).click()
    expect(await f1()).toEqual([1, 0.3, 0.3])
    // The run made with --set is stale against today's parameters, and says so.
    expect(await page.locator('#results tr[data-run^="evaluate@dataset=synth-x,ov=2,split=1#"] td.stale').textContent()).toBe('stale')

    const pixels = await drawnPixels(page)
    expect(Object.keys(pixels)).toEqual(['seldScore', 'f1', 'doaErrorDegrees', 'loss'])
    for (const [curve, count] of Object.entries(pixels)) expect(count, curve).toBeGreaterThan(2000)
    await page.locator('#run-toggles input[data-run^="evaluate@dataset=synth-x,ov=2,split=1#"]').uncheck()
    expect((await drawnPixels(page)).seldScore).toBeLessThan(pixels.seldScore)
    // Hovering a chart shows the values of that epoch in its legend.
    const chart = page.locator('.chart[data-curve="seldScore"] .u-over')
    const box = (await chart.boundingBox())!
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2)
    const legend = await page.locator('.chart[data-curve="seldScore"] .u-legend').textContent()
    expect(legend).toContain(seld.ov1_split1.toFixed(3))

    const differs = await page.locator('#params tr.differs td:first-child').allTextContents()
    expect(differs.sort()).toEqual(['ov', 'split', 't.lr'])
    expect(await page.locator('#params tbody td:first-child').allTextContents()).toEqual(['dataset', 'ov', 'split', 't.lr', 't.seed'])

    const images = page.locator('#figures img')
    expect(await images.count()).toBe(3)
    expect(await images.evaluateAll((imgs) => imgs.map((img) => (img as unknown as {naturalWidth: number}).naturalWidth))).toEqual([2, 2, 2])
    expect(errors).toEqual([])
    expect(requests).toEqual([])
    await page.close()
  })

  it('with --matrix shows only those cells; without any result it fails and writes nothing', async () => {
    const dir = tempDir(projectFiles)
    const empty = await cli(dir, 'report')
    expect(empty.exitCode).toBe(1)
    expect(empty.stderr).toContain('no evaluate results')
    expect(existsSync(join(dir, 'report.html'))).toBe(false)
    expect((await cli(dir, 'run')).exitCode).toBe(0)
    const one = await cli(dir, 'report', '--matrix', 'split=2', '--json')
    const {out, runs} = JSON.parse(one.stdout) as {out: string; runs: {id: string; state: string}[]}
    expect(out).toBe(join(dir, 'report.html'))
    expect(runs).toHaveLength(1)
    expect(runs[0].id).toMatch(/^evaluate@dataset=synth-x,ov=1,split=2#[0-9a-f]{7}$/)
    expect(runs[0].state).toBe('up to date')
  })

  it('shows what the run recorded, not what the work folder holds now, and marks such a result stale', async () => {
    const dir = tempDir(projectFiles)
    expect((await cli(dir, 'run', '--matrix', 'split=1')).exitCode).toBe(0)
    const metricsFile = join(dir, 'work', 'synth-x', 'ov1_split1', 'eval', 'metrics.json')
    const recorded = JSON.parse(readFileSync(metricsFile, 'utf8')) as {seld2018: {seldScore: number}}
    writeFileSync(metricsFile, JSON.stringify({seld2018: {...recorded.seld2018, seldScore: 0.001}}))
    rmSync(join(dir, 'work', 'synth-x', 'ov1_split1', 'model', 'log.jsonl'))
    expect((await cli(dir, 'report', '--matrix', 'split=1')).exitCode).toBe(0)
    const {page, errors} = await openReport(chromium.browser, join(dir, 'report.html'))
    const cells = await page.locator('#results tbody tr td').allTextContents()
    expect(cells[1]).toBe('stale')
    expect(cells[2]).toBe(recorded.seld2018.seldScore.toFixed(3))
    expect(await page.locator('#results tbody tr td.stale').getAttribute('title')).toBe('out changed: work/synth-x/ov1_split1/eval')
    expect(Object.values(await drawnPixels(page)).every((pixels) => pixels > 1000)).toBe(true)
    expect(errors).toEqual([])
    await page.close()
  })
})
