#!/usr/bin/env node
// Runs the pipeline once per feature/output preset and tabulates what evaluate measured on the test split, each
// model chosen as its parameters say (train.validation). The rule of issue 18 picks the default: the lowest 2018 SELD
// score among the presets whose DOA error is at most 20 degrees. Run alone on a quiet machine: every run trains for
// its full budget.
//
//   node scripts/compare-presets.mjs                                   # every candidate at the default run's size
//   node scripts/compare-presets.mjs --base params/bench.yaml          # at the benchmark's size (bench params first)
//   node scripts/compare-presets.mjs --only seldnet2018,logmel-accdoa -- --set train.quick_test=true
//   node scripts/compare-presets.mjs --cell work/synth-foa-reverb/ov2_split1 --out results/presets-reverb-ov2 \
//     -- --matrix dataset=synth-foa-reverb ov=2                        # one other cell: name it with --cell
//
// Arguments after `--` go to every `seldpipe run`. Results: <out>/<preset>.json (metrics.json, the training log and
// the run's arguments) and <out>/table.md.
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CANDIDATES = {
  seldnet2018: ['--params', 'params/seldnet2018.yaml'],
  'stft-accdoa': ['--params', 'params/seldnet2018.yaml', '--set', 'model.output=accdoa'],
  'logmel-seldnet': ['--params', 'params/logmel-accdoa.yaml', '--set', 'model.output=seldnet'],
  'logmel-accdoa': ['--params', 'params/logmel-accdoa.yaml'],
  'logmel-multi-accdoa': ['--params', 'params/logmel-accdoa.yaml', '--set', 'model.output=multi_accdoa'],
}
const DOA_LIMIT = 20

const {values, positionals} = parseArgs({
  options: {
    only: {type: 'string'},
    base: {type: 'string', multiple: true, default: []},
    cell: {type: 'string', default: 'work/synth-foa/ov1_split1'},
    out: {type: 'string', default: 'results/presets'},
  },
  allowPositionals: true,
})
const names = values.only ? values.only.split(',') : Object.keys(CANDIDATES)
for (const name of names) if (!CANDIDATES[name]) throw new Error(`unknown preset '${name}': one of ${Object.keys(CANDIDATES).join(', ')}`)
const out = path.resolve(root, values.out)
mkdirSync(out, {recursive: true})

const rows = []
for (const name of names) {
  const args = ['run', ...values.base.flatMap((file) => ['--params', file]), ...CANDIDATES[name], ...positionals]
  console.log(`\n== ${name}: seldpipe ${args.join(' ')}`)
  const started = Date.now()
  const run = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), ...args], {cwd: root, stdio: 'inherit'})
  if (run.status !== 0) {
    console.error(`${name}: seldpipe run exited with ${run.status}; skipped`)
    continue
  }
  const cell = path.resolve(root, values.cell)
  const metrics = JSON.parse(readFileSync(path.join(cell, 'eval', 'metrics.json'), 'utf8'))
  const log = readFileSync(path.join(cell, 'model', 'log.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
  const result = {preset: name, args, wallSeconds: (Date.now() - started) / 1000, metrics, log}
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify(result, null, 2) + '\n')
  rows.push(result)
}

const number = (value, digits) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits))
const eligible = rows.filter((row) => row.metrics.seld2018.doaErrorGtDegrees <= DOA_LIMIT)
const chosen = eligible.reduce((best, row) => (!best || row.metrics.seld2018.seldScore < best.metrics.seld2018.seldScore ? row : best), undefined)
const lines = [
  '| preset | features | output | chosen on | epochs | training min | ER | F1 | DOA error | frame recall | SELD | LE_CD | F20° |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(({preset, metrics: m, log}) => {
    const minutes = log.reduce((sum, record) => sum + record.seconds, 0) / 60
    const seld = number(m.seld2018.seldScore, 3)
    return `| ${preset} | ${m.featureKind} | ${m.output} | ${m.modelChosenOn} | ${log.length} | ${number(minutes, 1)} | ` +
      `${number(m.seld2018.er, 2)} | ${number(m.seld2018.f1, 3)} | ${number(m.seld2018.doaErrorGtDegrees, 1)}° | ` +
      `${number(m.seld2018.frameRecall, 3)} | ${preset === chosen?.preset ? `**${seld}**` : seld} | ${number(m.joint?.leCd, 1)}° | ${number(m.joint?.f20, 2)} |`
  }),
  '',
  chosen ? `Chosen (lowest SELD score with a DOA error ≤ ${DOA_LIMIT}°): ${chosen.preset}` : `No preset reached a DOA error ≤ ${DOA_LIMIT}°.`,
]
writeFileSync(path.join(out, 'table.md'), lines.join('\n') + '\n')
console.log(`\n${lines.join('\n')}\n\nwritten to ${out}/`)
