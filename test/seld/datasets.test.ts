import {describe, expect, it} from 'vitest'
import {checkOverlap, DATASETS, datasetSpec, frameGrid, publishedSplit, recordingFrames, splitLayout} from '../../src/seld/features/datasets.js'
import {labelGrid} from '../../src/seld/features/labels.js'

describe('the dataset table', () => {
  it('holds the seven published datasets with their Zenodo records, and the synthetic ones without', () => {
    const records = Object.fromEntries(Object.values(DATASETS).filter((d) => !d.synthetic).map((d) => [d.name, d.zenodoRecord]))
    expect(records).toEqual({ansim: 1237703, resim: 1237707, cansim: 1237752, cresim: 1237754, real: 1237793, mansim: 2636586, mreal: 2636594})
    // The moving-source sets: Ambisonic, MANSIM with the DCASE 2016 classes, MREAL with REAL's dictionary.
    expect(datasetSpec('mansim')).toMatchObject({kind: 'foa', channels: 4, room: 'anechoic', moving: true, classIndex: datasetSpec('ansim').classIndex})
    expect(datasetSpec('mreal')).toMatchObject({kind: 'foa', channels: 4, room: 'reverberant', moving: true, classIndex: datasetSpec('real').classIndex})
    expect(Object.values(DATASETS).filter((d) => d.synthetic).every((d) => d.zenodoRecord === undefined)).toBe(true)
    expect(datasetSpec('cresim')).toMatchObject({channels: 8, sampleRate: 44100, seconds: 30, kind: 'mic', room: 'reverberant'})
    expect(Object.keys(datasetSpec('real').classIndex)).toHaveLength(8)
  })

  it("maps seldpipe's splits to the published ones: REAL's 1, 2, 3 are 1, 8, 9, and the published numbers stand", () => {
    const real = datasetSpec('real')
    expect([1, 2, 3, 8, 9].map((split) => publishedSplit(real, split))).toEqual([1, 8, 9, 8, 9])
    expect(() => publishedSplit(real, 4)).toThrow(/real has no split 4: it publishes splits 1, 8, 9/)
    expect([1, 2, 3].map((split) => publishedSplit(datasetSpec('ansim'), split))).toEqual([1, 2, 3])
    expect(() => publishedSplit(datasetSpec('ansim'), 5)).toThrow(/ansim has no split 5/)
    expect(publishedSplit(datasetSpec('synth-foa'), 7)).toBe(7)
    expect(() => checkOverlap(datasetSpec('resim'), 4)).toThrow(/resim has no overlap 4: it publishes 1, 2, 3/)
    expect(splitLayout(2, 8)).toEqual({zip: 'ov2_split8.zip', wavFolder: 'wav_ov2_split8_30db', descFolder: 'desc_ov2_split8'})
  })
})

describe('the frame grid', () => {
  it('derives hop, bins, frame rates and recording frames from the sample rate and nfft alone', () => {
    expect(frameGrid(44100, 512)).toEqual({nfft: 512, hop: 256, bins: 256, framesPerSecond: 44100 / 256, metricFramesPerSecond: 172, frameSeconds: 256 / 44100})
    expect(frameGrid(44100, 1024).metricFramesPerSecond).toBe(86)
    expect(recordingFrames(datasetSpec('ansim'), 1024)).toBe(Math.ceil((30 * 44100 - 1024) / 512))
    expect(() => frameGrid(44100, 500)).toThrow(/power of two/)
  })

  it('is the grid the labels are computed on', () => {
    const ansim = datasetSpec('ansim')
    expect(labelGrid(ansim, 512)).toEqual({frames: recordingFrames(ansim, 512), classes: 11, framesPerSecond: frameGrid(44100, 512).framesPerSecond})
  })
})
