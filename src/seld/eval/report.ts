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
