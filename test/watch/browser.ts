import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {chromium, type BrowserContext, type Page} from 'playwright-core'
import {repoRoot} from '../pipeline/cli.js'

/**
 * Debian's Chromium, headless, through playwright-core (which never downloads a browser here): installed by
 * scripts/chromium.sh when missing, started with a fresh profile and nothing that reaches the network by itself.
 */
export async function launchChromium(): Promise<{browser: BrowserContext; close: () => Promise<void>}> {
  const executablePath = execFileSync('bash', [join(repoRoot, 'scripts', 'chromium.sh')], {encoding: 'utf8'}).trim()
  const profile = mkdtempSync(join(tmpdir(), 'seldpipe-chromium-'))
  // playwright passes the fresh profile folder as --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: {width: 1280, height: 900},
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  })
  return {
    browser,
    close: async () => {
      await browser.close()
      rmSync(profile, {recursive: true, force: true})
    },
  }
}

/** Opens a file in a new page, collecting console errors, page errors and any request that leaves the file. */
export async function openReport(browser: BrowserContext, file: string): Promise<{page: Page; errors: string[]; requests: string[]}> {
  const page = await browser.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('request', (request) => {
    if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) requests.push(request.url())
  })
  await page.goto(`file://${file}`, {waitUntil: 'load'})
  return {page, errors, requests}
}

/** Pixels drawn (not transparent) in each chart's canvas, by curve name. */
export async function drawnPixels(page: Page): Promise<Record<string, number>> {
  // Runs in the page (the tests compile without DOM types, hence a string).
  return page.evaluate(`(() => {
    const counts = {}
    for (const chart of document.querySelectorAll('.chart')) {
      const canvas = chart.querySelector('canvas')
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
      let drawn = 0
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++
      counts[chart.dataset.curve] = drawn
    }
    return counts
  })()`)
}
