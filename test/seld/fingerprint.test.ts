import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {trainingFingerprint} from '../../src/seld/train/fingerprint.js'
import {useWorkDir} from '../work-dir.js'

const workDir = useWorkDir('seld-fingerprint-')

describe('trainingFingerprint', () => {
  it('changes when one byte in the middle of a large data file changes, and only then', () => {
    const file = join(workDir(), 'train_000.targets.npy')
    const content = Buffer.alloc(3 << 20, 7)
    writeFileSync(file, content)
    const config = {epochs: 3}
    const before = trainingFingerprint(config, [file])
    writeFileSync(file, content)
    expect(trainingFingerprint(config, [file])).toBe(before)
    content[content.length >> 1] = 8
    writeFileSync(file, content)
    expect(trainingFingerprint(config, [file])).not.toBe(before)
    expect(trainingFingerprint({epochs: 4}, [file])).not.toBe(trainingFingerprint(config, [file]))
  })

  it('uses the inputs key when one is given, without reading the files', () => {
    const config = {epochs: 3}
    const missing = join(workDir(), 'absent.npy')
    expect(trainingFingerprint(config, [missing], 'a'.repeat(64))).toBe(trainingFingerprint(config, [missing], 'a'.repeat(64)))
    expect(trainingFingerprint(config, [missing], 'a'.repeat(64))).not.toBe(trainingFingerprint(config, [missing], 'b'.repeat(64)))
    expect(trainingFingerprint({epochs: 4}, [missing], 'a'.repeat(64))).not.toBe(trainingFingerprint(config, [missing], 'a'.repeat(64)))
  })
})
