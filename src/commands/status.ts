import {JsonCommand} from '../cli/json-command.js'
import formatBytes from 'pretty-bytes'
import {assessGraph, formatReason, formatReasons, type Reason} from '../pipeline/run/assess.js'
import {loadGraph, openCache, pipelineFlags, reportingPipelineErrors} from '../pipeline/spec/command-flags.js'
import {lockHolder} from '../pipeline/state/lock.js'
import {formatSeconds} from '../pipeline/run/progress.js'
import {formatGpus} from '../pipeline/run/gpus.js'
import {activeSlurmJobs} from '../pipeline/executors/slurm/slurm-executor.js'

interface StatusRow {
  id: string
  stage: string
  vars: Record<string, string>
  state: string
  /** Why it is stale, structured (kind, path or key, old, new) with the text made from it. */
  reasons: (Reason & {text: string})[]
  key: string | null
  running?: {since: string; handle: string | null; executor: string; gpus: string[] | null}
  slurm?: {jobId: string; state: string; submittedAt: string}
}

export default class Status extends JsonCommand {
  static override description = `Show every stage instance as up to date or stale, with the reason.

With --json: an array of one object per instance (id, stage, vars, state, reasons as {kind, path or key, old, new,
text}, key, and running or slurm details
while it runs).`
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --matrix dataset=ansim,resim --json']
  static override flags = {...pipelineFlags}

  async run(): Promise<StatusRow[]> {
    const {flags} = await this.parse(Status)
    const graph = await reportingPipelineErrors(this.error.bind(this), () => loadGraph(flags))
    const cache = await reportingPipelineErrors(this.error.bind(this), async () => openCache(graph))
    try {
      const assessments = await reportingPipelineErrors(this.error.bind(this), () => assessGraph(graph, cache))
      // What a live run is executing right now (a killed run's leftovers are not running).
      const running = lockHolder(cache.lockFile) ? cache.running() : new Map()
      // Slurm jobs as squeue sees them (queued or running, with their job ids), even when their coordinator died.
      const slurmJobs = new Map((await activeSlurmJobs(cache.dir)).map((job) => [job.instance, job]))
      const rows = graph.instances.map((instance): StatusRow => {
        const {state, reasons, key} = assessments.get(instance.id)!
        const now = running.get(instance.id)
        const slurm = slurmJobs.get(instance.id)
        return {
          id: instance.id,
          stage: instance.stage.name,
          vars: instance.vars,
          state: slurm?.phase ?? (now ? 'running' : state),
          reasons: reasons.map((reason) => ({...reason, text: formatReason(reason)})),
          key: key ?? null,
          ...(now ? {running: {since: now.startedAt, handle: now.handle ?? null, executor: now.executor, gpus: now.gpus ?? null}} : {}),
          ...(slurm ? {slurm: {jobId: slurm.slurmId, state: slurm.state, submittedAt: slurm.submittedAt}} : {}),
        }
      })
      const width = Math.max(...rows.map((row) => row.id.length))
      for (const row of rows) {
        const running = row.running
          ? [formatSeconds(Date.now() - Date.parse(row.running.since)), row.running.handle, row.running.gpus?.length ? formatGpus(row.running.gpus) : undefined].filter(Boolean).join(', ')
          : ''
        const why = row.slurm ? `slurm job ${row.slurm.jobId} ${row.slurm.state}` : row.running ? running : formatReasons(row.reasons)
        this.log(`${row.state.padEnd(10)}  ${row.id.padEnd(width)}  ${why}`.trimEnd())
      }
      const count = (state: string) => rows.filter((row) => row.state === state).length
      this.log(`${rows.length} instances: ${count('up to date')} up to date, ${count('stale')} stale${count('queued') > 0 ? `, ${count('queued')} queued` : ''}${count('running') > 0 ? `, ${count('running')} running` : ''}`)
      const objects = cache.objectFiles()
      this.log(`cache: ${objects.length} objects, ${formatBytes(objects.reduce((total, file) => total + file.bytes, 0))} in ${cache.dir}/objects (seldpipe gc removes what nothing references)`)
      return rows
    } finally {
      await cache.close()
    }
  }
}
