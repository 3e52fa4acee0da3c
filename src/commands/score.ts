import {Flags} from '@oclif/core'
import {JsonCommand} from '../cli/json-command.js'
import {readNpy, type NdArray} from '../seld/io/npy.js'
import {checkActivity} from '../seld/eval/frames.js'
import {seld2018Metrics, type Seld2018Metrics} from '../seld/eval/metrics-2018.js'
import type {EvaluationReport} from '../seld/eval/report.js'
import {DOA_THRESHOLD_DEGREES, jointMetrics, type JointMetrics} from '../seld/eval/joint-metrics.js'

/** A .npy array seen as rows × columns: rank 2, or rank 3 (sequences × frames × columns) flattened as published. */
interface Table {
  file: string
  rows: number
  columns: number
  data: Float32Array
}

function asTable(file: string, array: NdArray): Table {
  const {shape, data} = array
  if (shape.length !== 2 && shape.length !== 3) {
    throw new Error(`${file}: expected frames × columns (rank 2) or sequences × frames × columns (rank 3), got shape (${shape.join(', ')})`)
  }
  const columns = shape[shape.length - 1]
  return {file, rows: columns ? data.length / columns : 0, columns, data}
}

export default class Score extends JsonCommand {
  static override description = `Score any SELD system's output with the published SELDnet 2018 metrics (and the DCASE joint metrics).

Arrays are .npy files of frames × columns (or sequences × frames × columns, flattened): activity frames × K with 0/1
values (threshold probabilities first), directions frames × 3K as unit vectors (x of every class, then y, then z), or
frames × 2K (x, y) with --azi-only.`
  static override examples = [
    '<%= config.bin %> score --sed-pred sed_pred.npy --sed-ref sed_ref.npy --doa-pred doa_pred.npy --doa-ref doa_ref.npy --frames-per-second 86',
    '<%= config.bin %> score --sed-pred p.npy --sed-ref r.npy --doa-pred d.npy --doa-ref e.npy --frames-per-second 172 --joint --json',
  ]
  static override flags = {
    'sed-pred': Flags.string({required: true, description: 'predicted activity, frames × K, 0/1'}),
    'sed-ref': Flags.string({required: true, description: 'reference activity, frames × K, 0/1'}),
    'doa-pred': Flags.string({required: true, description: 'predicted directions, frames × 3K (or 2K with --azi-only)'}),
    'doa-ref': Flags.string({required: true, description: 'reference directions, frames × 3K (or 2K with --azi-only)'}),
    'frames-per-second': Flags.integer({required: true, min: 2, description: 'frames per 1-second segment (published nb_frames_1s)'}),
    'azi-only': Flags.boolean({default: false, description: 'directions are x, y only (frames × 2K)'}),
    joint: Flags.boolean({default: false, description: `also compute the DCASE location-aware metrics (ER${DOA_THRESHOLD_DEGREES}°, F${DOA_THRESHOLD_DEGREES}°, LE_CD, LR_CD)`}),
  }

  async run(): Promise<EvaluationReport> {
    const {flags} = await this.parse(Score)
    const aziOnly = flags['azi-only']
    let report: EvaluationReport
    try {
      const load = (file: string) => asTable(file, readNpy(file))
      const [sedPred, sedRef, doaPred, doaRef] = [flags['sed-pred'], flags['sed-ref'], flags['doa-pred'], flags['doa-ref']].map(load)
      checkShapes(sedPred, sedRef, doaPred, doaRef, aziOnly)
      checkActivity(sedPred.data, sedPred.columns, sedPred.file)
      checkActivity(sedRef.data, sedRef.columns, sedRef.file)
      const input = {
        sedPred: sedPred.data, sedRef: sedRef.data, doaPred: doaPred.data, doaRef: doaRef.data,
        frames: sedRef.rows, classes: sedRef.columns, framesPerSecond: flags['frames-per-second'], aziOnly,
      }
      report = {frames: input.frames, seld2018: seld2018Metrics(input), ...(flags.joint ? {joint: jointMetrics(input)} : {})}
    } catch (error) {
      this.error((error as Error).message, {exit: 2})
    }
    this.log(formatReport(report, flags['frames-per-second']))
    return report
  }
}

function checkShapes(sedPred: Table, sedRef: Table, doaPred: Table, doaRef: Table, aziOnly: boolean): void {
  const classes = sedRef.columns
  if (classes < 1) throw new Error(`${sedRef.file}: no class columns`)
  if (sedPred.columns !== classes) throw new Error(`${sedPred.file}: ${sedPred.columns} classes, but ${sedRef.file} has ${classes}`)
  for (const table of [sedPred, doaPred, doaRef]) {
    if (table.rows !== sedRef.rows) throw new Error(`${table.file}: ${table.rows} frames, but ${sedRef.file} has ${sedRef.rows}`)
  }
  const dims = aziOnly ? 2 : 3
  for (const doa of [doaPred, doaRef]) {
    if (doa.columns === dims * classes) continue
    const hint = doa.columns === 2 * classes ? ' (x, y only: add --azi-only)' : doa.columns === 3 * classes ? ' (x, y, z: drop --azi-only)' : ''
    throw new Error(`${doa.file}: ${doa.columns} direction columns, expected ${dims} × ${classes} classes = ${dims * classes}${hint}`)
  }
}

const fixed = (value: number, digits = 4) => (Number.isFinite(value) ? value.toFixed(digits) : String(value))

function formatReport(report: EvaluationReport, framesPerSecond: number): string {
  const m: Seld2018Metrics = report.seld2018
  const lines = [
    `SELDnet 2018 metrics: ${report.frames} frames, ${framesPerSecond} frames per 1-second segment`,
    `  error rate (ER)          ${fixed(m.er)}`,
    `  F1                       ${fixed(m.f1)}`,
    `  DOA error                ${fixed(m.doaErrorGtDegrees, 2)}°  (chord ${fixed(m.doaErrorGt)} over ${m.doaGtCount} reference frame-classes; ${fixed(m.doaErrorPred)} over ${m.doaPredCount} predicted)`,
    `  frame recall             ${fixed(m.frameRecall)}  (${m.goodFrameCount} frames with the right number of sources)`,
    `  source-count accuracy    ${fixed(m.doaAvgAccuracy)}`,
    `  SELD score               ${fixed(m.seldScore)}`,
    '',
    'Source-count confusion (rows: reference count, columns: predicted count, each row sums to 1)',
    '       ' + m.sourceCountLabels.map((label) => String(label).padStart(7)).join(''),
    ...m.sourceCountConfusion.map((row, i) => String(m.sourceCountLabels[i]).padStart(7) + row.map((v) => fixed(v, 3).padStart(7)).join('')),
  ]
  if (report.joint) lines.push('', ...formatJoint(report.joint))
  return lines.join('\n')
}

function formatJoint(joint: JointMetrics): string[] {
  return [
    `DCASE joint metrics (${DOA_THRESHOLD_DEGREES}° threshold, 1-second segments, macro average over classes)`,
    `  ER${DOA_THRESHOLD_DEGREES}°                    ${fixed(joint.er20)}`,
    `  F${DOA_THRESHOLD_DEGREES}°                     ${fixed(joint.f20)}`,
    `  LE_CD                    ${fixed(joint.leCd, 2)}°`,
    `  LR_CD                    ${fixed(joint.lrCd)}`,
    `  SELD score               ${fixed(joint.seldScore)}`,
  ]
}
