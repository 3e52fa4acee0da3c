import type {JointMetrics} from './joint-metrics.js'
import type {Seld2018Metrics} from './metrics-2018.js'

/**
 * What the evaluate stage writes to work/<dataset>/ov<ov>_split<split>/eval/metrics.json and `seldpipe metrics` reads.
 * `seldpipe score --json` prints the same shape without the run details.
 */
export interface EvaluationReport {
  dataset?: string
  ov?: number
  split?: number
  /** Test recordings scored, and their frames in total. */
  recordings?: number
  frames?: number
  /** SED activity threshold applied to the model output. */
  threshold?: number
  seld2018: Seld2018Metrics
  /** DCASE location-aware metrics, when computed. */
  joint?: JointMetrics
}

/** A headline score of metrics.json: `name` is what --sort-by and JSON output use, `key` its dotted place in the file. */
export interface HeadlineMetric {
  name: string
  label: string
  key: string
  better: 'lower' | 'higher'
  digits: number
}

/** The scores `seldpipe exp show` and `metrics diff` show by default: the 2018 SELDnet metrics, then the DCASE joint ones. */
export const HEADLINE_METRICS: readonly HeadlineMetric[] = [
  {name: 'er', label: 'ER', key: 'seld2018.er', better: 'lower', digits: 3},
  {name: 'f1', label: 'F1', key: 'seld2018.f1', better: 'higher', digits: 3},
  {name: 'doa_error', label: 'DOA err°', key: 'seld2018.doaErrorGtDegrees', better: 'lower', digits: 1},
  {name: 'frame_recall', label: 'frame recall', key: 'seld2018.frameRecall', better: 'higher', digits: 3},
  {name: 'seld', label: 'SELD', key: 'seld2018.seldScore', better: 'lower', digits: 3},
  {name: 'er20', label: 'ER20°', key: 'joint.er20', better: 'lower', digits: 3},
  {name: 'f20', label: 'F20°', key: 'joint.f20', better: 'higher', digits: 3},
  {name: 'le_cd', label: 'LE_CD°', key: 'joint.leCd', better: 'lower', digits: 1},
  {name: 'lr_cd', label: 'LR_CD', key: 'joint.lrCd', better: 'higher', digits: 3},
  {name: 'seld_dcase', label: 'SELD (DCASE)', key: 'joint.seldScore', better: 'lower', digits: 3},
]
