import {dirname, relative, resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {JsonCommand} from '../cli/json-command.js'
import {assessGraph, formatReason} from '../pipeline/run/assess.js'
import {loadGraph, openCache, pipelineFlags, reportingPipelineErrors} from '../pipeline/spec/command-flags.js'
import {runGraph, type RunSummary} from '../pipeline/run/engine.js'
import {createExecutor, executors} from '../pipeline/executors/registry.js'
import {acquireLock, describeHolder} from '../pipeline/state/lock.js'
import {stopLeftoverJob} from '../pipeline/executors/local.js'
import {activeSlurmJobs} from '../pipeline/executors/slurm/slurm-executor.js'
import {removeLeftovers} from '../pipeline/state/leftovers.js'
import type {Graph} from '../pipeline/graph/graph.js'
import type {Executor} from '../pipeline/executors/executor.js'
import {PlainReporter, type Reporter} from '../pipeline/run/progress.js'
import {GpuPool} from '../pipeline/run/gpus.js'

interface PlannedInstance {
  id: string
  action: 'run' | 'restore'
  reasons: string[]
}

/** What `run --json` prints: the plan of a dry run, or the summary of a run. */
type RunJson = {dryRun: true; instances: number; planned: PlannedInstance[]} | ({dryRun: false; interrupted: boolean} & RunSummary)

export default class Run extends JsonCommand {
  static override description = `Run the pipeline: skip what is cached, restore deleted outs from cache/, run the rest.

With --json, stdout holds one JSON document (the plan of --dry-run, or the run's summary: the instance ids that ran,
were restored, were up to date, failed or did not run); progress goes to stderr.`
  static override examples = [
    '<%= config.bin %> run',
    '<%= config.bin %> run --matrix dataset=ansim,resim ov=1,2,3 --jobs 2',
    '<%= config.bin %> run --set train.epochs=5 --dry-run',
  ]
  static override flags = {
    ...pipelineFlags,
    jobs: Flags.integer({char: 'j', description: 'instances run in parallel when independent', default: 1, min: 1}),
    'dry-run': Flags.boolean({description: 'list what would run or be restored, and why; run nothing'}),
    force: Flags.boolean({description: 'rerun every instance even when its cached result is intact'}),
    executor: Flags.string({description: 'what runs the stage commands', options: Object.keys(executors), default: 'local'}),
  }

  async run(): Promise<RunJson> {
    const {flags} = await this.parse(Run)
    // With --json, stdout holds one JSON document: what the run tells as it goes goes to stderr.
    const json = this.jsonEnabled()
    const say = json ? (text: string) => process.stderr.write(`${text}\n`) : (text: string) => this.log(text)
    const sayToStderr = (text: string) => process.stderr.write(`${text}\n`)
    const graph = await reportingPipelineErrors(this.error.bind(this), () => loadGraph(flags))
    const cache = await reportingPipelineErrors(this.error.bind(this), async () => openCache(graph))
    const controller = new AbortController()
    let reporter: Reporter | undefined
    let live = false
    const stop = (signal: NodeJS.Signals) => {
      const message = `${signal}: stopping running commands; nothing is recorded for them`
      // On a terminal the live display owns the bottom lines: writing past it would let its next redraw erase this.
      if (!controller.signal.aborted) live ? reporter!.line(message) : sayToStderr(`\n${message}`)
      controller.abort()
    }
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    for (const signal of signals) process.on(signal, stop)
    let release: (() => Promise<void>) | undefined
    let executor: Executor | undefined
    try {
      if (flags['dry-run']) {
        const assessments = await reportingPipelineErrors(this.error.bind(this), () => assessGraph(graph, cache))
        const planned: PlannedInstance[] = []
        for (const {instance, state, reasons, record} of assessments.values()) {
          if (flags.force) planned.push({id: instance.id, action: 'run', reasons: ['--force']})
          else if (state !== 'up to date') planned.push({id: instance.id, action: record ? 'restore' : 'run', reasons: reasons.map(formatReason)})
        }
        for (const {id, action, reasons} of planned) this.log(`would ${action} ${id}: ${reasons.join('; ')}`)
        this.log(`${planned.length} of ${graph.instances.length} instances would run or be restored`)
        return {dryRun: true, instances: graph.instances.length, planned}
      }
      // Before the run lock: a cluster executor takes its coordinator lock here and refuses a second coordinator.
      executor = createExecutor(flags.executor, {cacheDir: cache.dir, warn: (message) => reporter?.line(`warning: ${message}`)})
      const gpus = executor.runsOnThisMachine ? this.gpuPool() : undefined
      release = await acquireLock(
        cache.lockFile,
        (holder) => sayToStderr(`waiting for the seldpipe run holding ${cache.lockFile} (${describeHolder(holder)}); if that run is gone, delete the file`),
        controller.signal,
      ).catch((error: unknown) => {
        if (controller.signal.aborted) this.exit(130)
        throw error
      })
      await this.stopLeftovers(cache)
      await this.removeLeftoverFiles(graph, cache)
      // log-update is loaded only for a terminal: plain output starts faster without it.
      live = Boolean(process.stdout.isTTY) && !json
      reporter = live ? new (await import('../pipeline/run/live-reporter.js')).LiveReporter() : new PlainReporter(say)
      const summary = await runGraph(graph, cache, {executor, jobs: flags.jobs, force: flags.force, reporter, signal: controller.signal, gpus}).finally(() => reporter?.close())
      const parts = [`${summary.ran.length} ran`, `${summary.restored.length} restored`, `${summary.upToDate.length} up to date`]
      if (summary.failed.length > 0) parts.push(`${summary.failed.length} failed`)
      if (summary.notRun.length > 0) parts.push(`${summary.notRun.length} not run`)
      this.log(parts.join(', '))
      const exitCode = controller.signal.aborted ? 130 : summary.failed.length > 0 ? 1 : 0
      if (json) {
        // The summary is the document even when an instance failed; the exit code still tells.
        if (exitCode !== 0) process.exitCode = exitCode
        return {dryRun: false, interrupted: controller.signal.aborted, ...summary}
      }
      if (exitCode !== 0) this.exit(exitCode)
      return {dryRun: false, interrupted: false, ...summary}
    } finally {
      for (const signal of signals) process.off(signal, stop)
      await executor?.close?.()
      await release?.()
      await cache.close()
    }
  }

  /** Partial outs and temporary copies of killed processes: skipping the folders of outs a Slurm job may be writing. */
  private async removeLeftoverFiles(graph: Graph, cache: ReturnType<typeof openCache>): Promise<void> {
    const active = new Set((await activeSlurmJobs(cache.dir)).map((job) => job.instance))
    const absolute = (out: string) => resolve(graph.pipeline.root, out)
    const busyFolders = new Set(graph.instances.filter((instance) => active.has(instance.id)).flatMap((instance) => instance.outs.map((out) => dirname(absolute(out)))))
    const outs = graph.instances.flatMap((instance) => instance.outs.map(absolute)).filter((out) => !busyFolders.has(dirname(out)))
    const removed = await removeLeftovers(outs, cache)
    if (removed.length > 0) this.logToStderr(`removed ${removed.length} leftover${removed.length === 1 ? '' : 's'} of killed processes: ${removed.map((path) => relative(graph.pipeline.root, path)).join(', ')}`)
  }

  /** The GPUs local jobs are placed on; a malformed SELDPIPE_GPUS, CUDA_VISIBLE_DEVICES or SELDPIPE_GPU_SLOTS is a bad flag. */
  private gpuPool(): GpuPool {
    try {
      return GpuPool.fromEnvironment(process.env)
    } catch (error) {
      this.error((error as Error).message, {exit: 2})
    }
  }

  /** Commands a killed run left running would race this run for the same outs: stop them first. */
  private async stopLeftovers(cache: ReturnType<typeof openCache>): Promise<void> {
    for (const [id, record] of cache.running()) {
      if (record.executor === 'local' && record.handle && stopLeftoverJob(record.handle, record.startedAt)) process.stderr.write(`stopped ${id} (${record.handle}), left running by a killed run\n`)
    }
    await cache.clearRunning()
  }
}
