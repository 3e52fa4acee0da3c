import {describe, expect, it} from 'vitest'
import type {Recording} from '../../src/seld/train/recordings.js'
import {holdOutValidation} from '../../src/seld/train/validation.js'

const recordings = (count: number): Recording[] =>
  Array.from({length: count}, (_, i) => ({
    name: `train_${String(i).padStart(3, '0')}`, featuresFile: '', targetsFile: '', frames: 10, bins: 4, featureChannels: 8, classes: 11,
    featuresOffset: 0, targetsOffset: 0,
  }))

const names = (list: Recording[]) => list.map((r) => r.name)

describe('holdOutValidation', () => {
  it('holds out round(fraction · n) recordings, the same ones for the same seed, both lists in name order', () => {
    const all = recordings(24)
    const split = holdOutValidation(all, 0.15, 1)
    expect(split.validation).toHaveLength(4)
    expect(split.train).toHaveLength(20)
    expect([...names(split.train), ...names(split.validation)].sort()).toEqual(names(all))
    expect(names(split.validation)).toEqual([...names(split.validation)].sort())
    expect(names(holdOutValidation(all, 0.15, 1).validation)).toEqual(names(split.validation))
    // Another seed draws other recordings.
    expect(names(holdOutValidation(all, 0.15, 2).validation)).not.toEqual(names(split.validation))
  })

  it('holds out at least one recording and keeps at least one to train on', () => {
    expect(holdOutValidation(recordings(3), 0.01, 1).validation).toHaveLength(1)
    expect(holdOutValidation(recordings(3), 0.99, 1).train).toHaveLength(1)
    expect(holdOutValidation(recordings(2), 0.5, 1).validation).toHaveLength(1)
  })

  it('refuses a fraction outside (0, 1) and a split too small to divide', () => {
    expect(() => holdOutValidation(recordings(10), 0, 1)).toThrow('train.validation_fraction must be strictly between 0 and 1, got 0')
    expect(() => holdOutValidation(recordings(10), 1, 1)).toThrow('strictly between 0 and 1')
    expect(() => holdOutValidation(recordings(1), 0.15, 1)).toThrow('needs at least 2 training recordings, found 1 (or set train.validation to test)')
  })
})
