import {existsSync, readFileSync} from 'node:fs'

export const LOG_FILE = 'log.jsonl'

/** One line of log.jsonl. Losses are the training means over the epoch (SED and DOA include their loss weights). */
export interface EpochRecord {
  epoch: number
  backend: string
  device: string
  loss: number
  sedLoss: number
  doaLoss: number
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

