import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/**
 * The vectors produced by the published SELDnet code; in CI a copy of shared/ sits beside the clone.
 * SELDPIPE_CONFORMANCE_DIR points elsewhere (a worktree nested deeper than the clone).
 */
const conformanceDir = process.env.SELDPIPE_CONFORMANCE_DIR ?? path.resolve(repoRoot, '..', 'shared', 'conformance')

/** The sorted names of the conformance vectors whose file name starts with `prefix` (e.g. `metrics_`). */
export function conformanceFiles(prefix: string): string[] {
  return readdirSync(conformanceDir).filter((file) => file.startsWith(prefix) && file.endsWith('.json')).sort()
}

/** One conformance vector, by file name with or without `.json`. */
export function readConformance<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(conformanceDir, name.endsWith('.json') ? name : `${name}.json`), 'utf8')) as T
}

/** A labels_*.json vector (labels_moving_*.json adds `dataset`); see the conformance README. */
export interface LabelsVector {
  nfft: number
  nb_frames: number
  class_index: Record<string, number>
  desc_csv: string
  expected_sed: number[][]
  expected_doa_deg: number[][]
}
