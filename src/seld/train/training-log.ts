import {existsSync, readFileSync} from 'node:fs'

export const LOG_FILE = 'log.jsonl'

/** The recordings that choose the best epoch: held out of the training split, or the test split (as published). */
export type ScoredOn = 'validation' | 'test'

/**
 * One line of log.jsonl. Losses are the training means over the epoch (SED and DOA include their loss weights; null
 * for the ACCDOA outputs, which have one loss); the scores are those of the `scoredOn` recordings.
 */
export interface EpochRecord {
  epoch: number
  backend: string
  scoredOn: ScoredOn
  device: string
  loss: number
  sedLoss: number | null
  doaLoss: number | null
  er: number
  f1: number
  doaErrorDegrees: number
  frameRecall: number
  seldScore: number
  seconds: number
}

/** Reads a log written by trainSeldnet, one EpochRecord per line. */
export function readLog(file: string): EpochRecord[] {
  if (!existsSync(file)) throw new Error(`${file}: no training log`)
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as EpochRecord
      } catch {
        throw new Error(`${file}: line ${i + 1} is not JSON`)
      }
    })
}

