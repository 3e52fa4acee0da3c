import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {differingParams, METRIC_COLUMNS, type ReportRun} from './collect-results.js'
import {REPORT_CLIENT_SCRIPT} from './report-client.js'

const require = createRequire(import.meta.url)

/** uPlot's browser bundle and stylesheet, inlined so the report needs no network. */
function uplotAssets(): {script: string; style: string} {
  return {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  }
}

/** Text safe inside a <script> element: no `</script>` or `<!--` can end it early. */
function scriptSafe(text: string): string {
  return text.replace(/<(?=\/script|!--)/gi, '\\u003c')
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[c]!)
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; margin: 0 0 16px; }
table { border-collapse: collapse; }
th, td { padding: 3px 9px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
#results th { cursor: pointer; user-select: none; background: #f6f6f6; }
#results th.sorted.up::after { content: ' ▲'; }
#results th.sorted.down::after { content: ' ▼'; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; color: #0a6b2c; }
td.stale { color: #a15c00; }
#curves { display: flex; flex-wrap: wrap; gap: 12px; }
.toggle { display: inline-block; margin: 0 10px 6px 0; padding: 1px 6px; border-left: 4px solid; cursor: pointer; }
#params tr.differs td { background: #fff3c4; }
#params.only-differing tbody tr:not(.differs) { display: none; }
figure { display: inline-block; margin: 6px; }
figure img { max-width: 640px; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 12px; }
`

/**
 * One self-contained HTML page (no network: uPlot, the data and the pictures are inlined) showing the runs' results
 * table, learning curves, parameters and per-recording figures.
 */
export function renderReport(runs: ReportRun[], options: {title: string; generatedAt: string; source: string}): string {
  const {script, style} = uplotAssets()
  const data = {runs, metricColumns: METRIC_COLUMNS, differingParams: [...differingParams(runs)]}
  const count = `${runs.length} evaluated run${runs.length === 1 ? '' : 's'}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${style}</style>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
<p class="meta">${escapeHtml(`${count} from ${options.source}, ${options.generatedAt}`)}</p>
<h2>Results</h2>
<p class="meta">Test split metrics of each run; click a column to sort by it. Best values are bold.</p>
<table id="results"></table>
<h2>Learning curves</h2>
<p class="meta">Per epoch: the scores of the recordings each run chose its best epoch on (validation or test, as its log.jsonl says), and the training loss.</p>
<div id="run-toggles"></div>
<div id="curves"></div>
<h2>Parameters</h2>
<p class="meta"><label><input type="checkbox" id="only-differing"> only the parameters that differ (marked)</label></p>
<table id="params"></table>
<h2>Recordings</h2>
<p class="meta">Per test recording: spectrogram, reference against predicted activity per class, and the DOA tracks.</p>
<div id="figures"></div>
<script>${scriptSafe(script)}</script>
<script>window.REPORT = ${scriptSafe(JSON.stringify(data))};</script>
<script>${scriptSafe(REPORT_CLIENT_SCRIPT)}</script>
</body>
</html>
`
}
