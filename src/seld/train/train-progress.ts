/** Where a training run is, for a one-line progress display. */
export interface TrainProgress {
  /** 'batch': inside an epoch; 'scoring': the epoch's batches are done and its recordings are being scored; 'epoch': the epoch is complete. */
  phase: 'batch' | 'scoring' | 'epoch'
  epoch: number
  epochs: number
  /** Batches done in this epoch, and how many it has (phase 'batch'). */
  batch?: number
  batches?: number
  /** Mean training loss: over the batches so far (phase 'batch'), or over the epoch. */
  loss?: number
  /** This epoch's SELD score (phase 'epoch'), else the last complete epoch's. */
  seldScore?: number
  bestScore?: number
  /** Estimated seconds until training ends (undefined before anything was timed). */
  etaSeconds?: number
}

/**
 * Seconds until training ends: the epochs left at the pace measured so far (the finished epochs' mean, or within the
 * first epoch its share of batches done), no longer than what is left of the time budget.
 */
export function estimateRemainingSeconds(options: {
  epochSeconds: number[]
  epochs: number
  /** The current epoch's elapsed seconds and fraction done (0 between epochs). */
  currentSeconds: number
  currentFraction: number
  maxMinutes: number
}): number | undefined {
  const {epochSeconds, epochs, currentSeconds, currentFraction, maxMinutes} = options
  const perEpoch = epochSeconds.length > 0
    ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length
    : currentFraction > 0 ? currentSeconds / currentFraction : undefined
  if (perEpoch === undefined) return undefined
  const left = Math.max(0, (epochs - epochSeconds.length - currentFraction) * perEpoch)
  if (maxMinutes <= 0) return left
  const spent = epochSeconds.reduce((a, b) => a + b, 0) + currentSeconds
  return Math.max(0, Math.min(left, maxMinutes * 60 - spent))
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`
  const minutes = Math.round(seconds / 60)
  return minutes < 60 ? `${minutes}m` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}

/** e.g. `epoch 3/40  loss 0.840  SELD 0.380  (best 0.380)  eta 7m`. */
export function describeProgress(progress: TrainProgress): string {
  const f = (value: number) => (Number.isNaN(value) ? 'n/a' : value.toFixed(3))
  const parts = [`epoch ${progress.epoch}/${progress.epochs}`]
  if (progress.phase === 'batch' && progress.batches !== undefined) parts[0] += ` batch ${progress.batch}/${progress.batches}`
  if (progress.phase === 'scoring') parts.push('scoring')
  if (progress.loss !== undefined) parts.push(`loss ${f(progress.loss)}`)
  if (progress.seldScore !== undefined) parts.push(progress.phase === 'epoch' ? `SELD ${f(progress.seldScore)}` : `last SELD ${f(progress.seldScore)}`)
  if (progress.bestScore !== undefined) parts.push(`(best ${f(progress.bestScore)})`)
  if (progress.etaSeconds !== undefined) parts.push(`eta ${formatDuration(progress.etaSeconds)}`)
  return parts.join('  ')
}
