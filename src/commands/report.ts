import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Flags} from '@oclif/core'
import {JsonCommand} from '../cli/json-command.js'
import {assessGraph} from '../pipeline/run/assess.js'
import {loadGraph, openCache, pipelineFlags, reportingPipelineErrors, type PipelineFlagValues} from '../pipeline/spec/command-flags.js'
import {collectCellResults, collectRecordedRuns, withUnrecordedCells} from '../report/collect-results.js'
import {RunRecords} from '../pipeline/state/records.js'
import {renderReport} from '../report/report-html.js'

const CELL_FOLDER = /^ov(\d+)_split(\d+)$/

/**
 * The matrix values of every cell with an evaluate result under work/<dataset>/ov<ov>_split<split>/eval, as --matrix
 * items: a report without --matrix shows whatever sweep was run, not only the pipeline's default cells.
 */
function evaluatedCells(root: string): string[] | undefined {
  const work = path.join(root, 'work')
  if (!existsSync(work)) return undefined
  const values = {dataset: new Set<string>(), ov: new Set<string>(), split: new Set<string>()}
  for (const dataset of readdirSync(work, {withFileTypes: true})) {
    if (!dataset.isDirectory()) continue
    for (const cell of readdirSync(path.join(work, dataset.name))) {
      const match = CELL_FOLDER.exec(cell)
      if (!match || !existsSync(path.join(work, dataset.name, cell, 'eval', 'metrics.json'))) continue
      values.dataset.add(dataset.name)
      values.ov.add(match[1])
      values.split.add(match[2])
    }
  }
  if (values.dataset.size === 0) return undefined
  return Object.entries(values).map(([key, set]) => `${key}=${[...set].sort().join(',')}`)
}

export default class Report extends JsonCommand {
  static override description = `Write one self-contained HTML report of the project's results, readable offline.

It holds the results table of every evaluated cell (sortable by any metric), the learning curves of every run from
its log.jsonl (overlaid, a toggle per run, values on hover), the parameters each result was made with (those that
differ between runs marked), and each cell's per-recording figures (reference against predicted activity, DOA tracks).
Without --matrix it shows every cell with an evaluate result under work/; with --matrix, the cells of that sweep.`
  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --out results.html --matrix dataset=synth-foa ov=1,2,3',
  ]
  static override flags = {
    ...pipelineFlags,
    out: Flags.string({char: 'o', description: 'the HTML file to write', default: 'report.html', helpValue: 'FILE'}),
  }

  async run(): Promise<{out: string; runs: {id: string; state: string}[]}> {
    const {flags} = await this.parse(Report)
    const graph = await reportingPipelineErrors(this.error.bind(this), async () => {
      const byFlags = await loadGraph(flags)
      if (flags.matrix !== undefined) return byFlags
      const keys = Object.keys(byFlags.pipeline.matrix)
      const cells = ['dataset', 'ov', 'split'].every((key) => keys.includes(key)) ? evaluatedCells(byFlags.pipeline.root) : undefined
      return cells ? loadGraph({...(flags as PipelineFlagValues), matrix: cells}) : byFlags
    })
    const cache = openCache(graph)
    let runs
    try {
      const assessments = await assessGraph(graph, cache)
      // Every recorded evaluate run (earlier runs and sweep variants too); with --matrix, those of its cells.
      const inGraph = new Set(graph.instances.map((instance) => instance.id))
      const records = new RunRecords(cache).all().filter((record) => flags.matrix === undefined || inGraph.has(record.instance))
      runs = withUnrecordedCells(collectRecordedRuns(cache, graph.pipeline.root, records, assessments), collectCellResults(graph, cache, assessments))
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    } finally {
      await cache.close()
    }
    if (runs.length === 0) this.error(`no evaluate results for these cells under ${graph.pipeline.root} (run the pipeline first)`, {exit: 1})
    const out = path.resolve(flags.out)
    const html = renderReport(runs, {
      title: `seldpipe report: ${path.basename(graph.pipeline.root)}`,
      generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      source: path.relative(process.cwd(), graph.pipeline.file) || graph.pipeline.file,
    })
    // A reader never sees half a report.
    const partial = `${out}.partial-${process.pid}`
    try {
      mkdirSync(path.dirname(out), {recursive: true})
      writeFileSync(partial, html)
      renameSync(partial, out)
    } catch (error) {
      rmSync(partial, {force: true})
      this.error(`${out}: cannot write the report (${(error as Error).message})`, {exit: 1})
    }
    this.log(`wrote ${path.relative(process.cwd(), out) || out}: ${runs.length} run${runs.length === 1 ? '' : 's'} (${(html.length / 1e6).toFixed(1)} MB)`)
    return {out, runs: runs.map((run) => ({id: run.id, state: run.state}))}
  }
}
