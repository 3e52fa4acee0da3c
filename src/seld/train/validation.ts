import {Random} from '../synth/random.js'
import type {Recording} from './recordings.js'

/** What chooses the best epoch and stops training early: recordings held out of the training split, or (as published) the test split. */
export const VALIDATION_CHOICES = ['holdout', 'test'] as const
export type ValidationChoice = (typeof VALIDATION_CHOICES)[number]

/**
 * Splits the training recordings into those trained on and those held out for validation: round(fraction · n)
 * recordings (at least one, and at least one left to train on), drawn by a generator seeded with `seed`, so the same
 * recordings and seed always hold out the same ones. Both lists keep name order.
 */
export function holdOutValidation(recordings: Recording[], fraction: number, seed: number): {train: Recording[]; validation: Recording[]} {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`train.validation_fraction must be strictly between 0 and 1, got ${fraction}`)
  if (recordings.length < 2) {
    throw new Error(`holding out validation recordings needs at least 2 training recordings, found ${recordings.length} (or set train.validation to test)`)
  }
  const count = Math.min(recordings.length - 1, Math.max(1, Math.round(fraction * recordings.length)))
  const order = Random.from(seed, 'validation').shuffle(recordings.map((_, i) => i))
  const held = new Set(order.slice(0, count))
  return {
    train: recordings.filter((_, i) => !held.has(i)),
    validation: recordings.filter((_, i) => held.has(i)),
  }
}
