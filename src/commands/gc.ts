import {Command, Flags} from '@oclif/core'
import {assessGraph} from '../pipeline/run/assess.js'
import {loadGraph, openCache, pipelineFlags, reportingPipelineErrors} from '../pipeline/spec/command-flags.js'
import formatBytes from 'pretty-bytes'
import {applyGc, collectReferences, expansionSource, planGc} from '../pipeline/state/gc.js'
import {acquireLock, describeHolder} from '../pipeline/state/lock.js'
import {newestPerCell, recordsReferenceSource, RunRecords, shortId} from '../pipeline/state/records.js'
import {isParamKey} from '../pipeline/spec/pipeline-file.js'

export default class Gc extends Command {
  static override description =
    'Delete cache objects, records and logs that nothing references: neither an instance of the pipeline as expanded (the default matrix, or the --matrix, --params and --set given) in its current state, nor a recorded run (seldpipe exp show).'
  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc', '<%= config.bin %> gc --keep-last 3', '<%= config.bin %> gc --matrix dataset=ansim,resim ov=1,2,3']
  static override flags = {
    ...pipelineFlags,
    'dry-run': Flags.boolean({description: 'list what would be deleted and the bytes it would free; delete nothing'}),
    'keep-last': Flags.integer({
      min: 1,
      description: 'forget all but the newest N recorded runs of each stage and cell (the variants of a sweep compete within their cell), then free what only the forgotten ones referenced',
      helpValue: 'N',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Gc)
    const graph = await reportingPipelineErrors(this.error.bind(this), () => loadGraph(flags))
    const cache = openCache(graph)
    let release: (() => Promise<void>) | undefined
    try {
      // A run records keys while it goes: deciding what is unreferenced must not race it.
      if (!flags['dry-run']) release = await acquireLock(cache.lockFile, (holder) => this.logToStderr(`waiting for the seldpipe run holding ${cache.lockFile} (${describeHolder(holder)})`))
      const assessments = await assessGraph(graph, cache)
      const verb = flags['dry-run'] ? 'would remove' : 'removing'
      const records = new RunRecords(cache)
      const recorded = records.all()
      const keepLast = flags['keep-last']
      const kept = keepLast === undefined ? recorded : newestPerCell(recorded, keepLast, (key) => !isParamKey(key))
      const keptKeys = new Set(kept.map((record) => record.key))
      const forgotten = recorded.filter((record) => !keptKeys.has(record.key))
      for (const record of forgotten) this.log(`${verb} recorded run ${shortId(record)} of ${record.instance} (not among the newest ${keepLast} of its cell)`)
      // Recorded runs keep their results (and what they were made from), whatever the expansion.
      const references = await collectReferences(cache, [expansionSource(assessments.values()), recordsReferenceSource(kept)])
      const plan = planGc(cache, references)
      for (const {key, id} of plan.keys) this.log(`${verb} result ${key.slice(0, 12)} of ${id}`)
      for (const id of plan.instances) this.log(`${verb} record of ${id} (not in this expansion)`)
      for (const log of plan.logs) this.log(`${verb} log ${log.path} (${formatBytes(log.bytes)})`)
      if (plan.objects.length > 0) this.log(`${verb} ${plan.objects.length} objects (${formatBytes(plan.objects.reduce((total, file) => total + file.bytes, 0))})`)
      if (!flags['dry-run']) {
        for (const record of forgotten) await records.remove(record.key)
        await applyGc(cache, plan)
      }
      const left = cache.objectFiles()
      const leftBytes = left.reduce((total, file) => total + file.bytes, 0)
      const summary = `${formatBytes(plan.bytes)} in ${plan.objects.length + plan.logs.length} files`
      this.log(flags['dry-run'] ? `would free ${summary}; nothing deleted (--dry-run)` : `freed ${summary}; cache/objects holds ${left.length} files, ${formatBytes(leftBytes)}`)
    } finally {
      await release?.()
      await cache.close()
    }
  }
}
