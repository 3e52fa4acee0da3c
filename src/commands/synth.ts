import {Command, Flags} from '@oclif/core'
import {datasetOptions, syntheticDataset, synthesizeSplit} from '../seld/synth/synthesize.js'

const seconds = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`expected a positive number of seconds, got '${input}'`)
    return value
  },
})

export default class Synth extends Command {
  static override description = [
    'Synthesize one overlap and split of a SELD dataset in the TUT Sound Events 2018 layout.',
    '',
    'Writes ov<N>_split<N>.zip into --out as the published datasets are zipped: wav_ov<N>_split<N>_30db/ (train_000.wav …, test_000.wav …: 44.1 kHz 16-bit; 4 FOA channels W, Y, Z, X with SN3D, or 8 microphones on a 5 cm circle) and desc_ov<N>_split<N>/ (one csv per recording: sound_event_recording,start_time,end_time,ele,azi,dist) at its root.',
    '',
    'Events of the 11 DCASE 2016 classes sit on a 10° grid (azimuth −180…170, elevation −60…50) at 1–10 m, at most --ov at once, over ambient noise at 30 dB SNR; the reverberant room is an image-source shoebox hall with the given RT60. Same arguments give byte-identical zips.',
  ].join('\n')
  static override examples = [
    '<%= config.bin %> synth --kind foa --room anechoic --ov 1 --split 1 --files 24 --duration 30 --seed 2018 --out data/synth-foa',
    '<%= config.bin %> synth --kind mic --room reverberant --ov 3 --split 2 --files 100 --rt60 0.6 --shift-test-doa --out data/synth-mic-reverb',
    '<%= config.bin %> synth --kind foa --room anechoic --files 60 --sources ~/dcase2016_task2/train --out data/my-foa',
  ]
  static override flags = {
    kind: Flags.string({default: 'foa', options: ['foa', 'mic'], description: 'receiver: first-order Ambisonics or 8-microphone circular array'}),
    room: Flags.string({default: 'anechoic', options: ['anechoic', 'reverberant'], description: 'free field, or a shoebox room'}),
    ov: Flags.integer({default: 1, min: 1, description: 'most sound events active at once'}),
    split: Flags.integer({default: 1, min: 1, description: 'split number (names the zips and seeds the scenes)'}),
    files: Flags.integer({default: 24, min: 0, description: 'training recordings'}),
    'test-files': Flags.integer({min: 0, description: 'test recordings [default: a third of --files, rounded up]'}),
    duration: seconds({default: 30, description: 'seconds per recording'}),
    seed: Flags.integer({default: 2018, min: 0, description: 'random seed; scenes also depend on --ov and --split'}),
    rt60: seconds({default: 0.4, description: 'reverberation time of the reverberant room, seconds'}),
    'shift-test-doa': Flags.boolean({default: false, description: 'move test directions 5° off the training grid (unseen-DOA test)'}),
    sources: Flags.string({description: 'folder of isolated recordings <dir>/<class>/*.wav (44.1 kHz, 16-bit) used instead of procedural sounds'}),
    out: Flags.string({required: true, description: 'folder receiving the two zips'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Synth)
    const dataset = syntheticDataset(flags.kind as 'foa' | 'mic', flags.room as 'anechoic' | 'reverberant')
    try {
      const options = datasetOptions(dataset, {
        ov: flags.ov, split: flags.split, trainFiles: flags.files, testFiles: flags['test-files'] ?? Math.ceil(flags.files / 3),
        duration: flags.duration, seed: flags.seed, rt60: flags.rt60, shiftTestDoa: flags['shift-test-doa'], sources: flags.sources,
      })
      const {zip} = await synthesizeSplit(options, flags.out, (id, done, total) => this.log(`${id.name}.wav (${done}/${total})`))
      this.log(`wrote ${zip} (as dataset ${dataset.name})`)
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
  }
}
