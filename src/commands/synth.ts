import {Command, Flags} from '@oclif/core'
import {DEFAULT_MAX_ANGULAR_VELOCITY, datasetOptions, syntheticDataset, synthesizeSplit} from '../seld/synth/synthesize.js'

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
    '',
    'With --moving every event starts on the grid and moves on a great circle at 10, 20 or 40 °/s (up to --max-ang-vel), and the csv files take the MANSIM layout: sound_event_recording,start_time,end_time,ele,azi,ele_dir,azi_dir,ang_vel,dist.',
  ].join('\n')
  static override examples = [
    '<%= config.bin %> synth --kind foa --room anechoic --ov 1 --split 1 --files 24 --duration 30 --seed 2018 --out data/synth-foa',
    '<%= config.bin %> synth --kind mic --room reverberant --ov 3 --split 2 --files 100 --rt60 0.6 --shift-test-doa --out data/synth-mic-reverb',
    '<%= config.bin %> synth --kind foa --room anechoic --files 60 --sources ~/dcase2016_task2/train --out data/my-foa',
    '<%= config.bin %> synth --kind foa --room anechoic --moving --max-ang-vel 20 --ov 1 --files 3 --duration 20 --seed 5 --out data/moving',
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
    moving: Flags.boolean({default: false, description: 'moving sources on great circles (MANSIM-layout descriptions)'}),
    'max-ang-vel': Flags.custom<number>({
      parse: async (input) => {
        const value = Number(input)
        if (!(value > 0 && value <= 360)) throw new Error(`expected an angular velocity in (0, 360] °/s, got '${input}'`)
        return value
      },
    })({description: `fastest angular velocity of a moving source, °/s (with --moving) [default: ${DEFAULT_MAX_ANGULAR_VELOCITY}]`}),
    sources: Flags.string({description: 'folder of isolated recordings <dir>/<class>/*.wav (44.1 kHz, 16-bit) used instead of procedural sounds'}),
    out: Flags.string({required: true, description: 'folder receiving the two zips'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Synth)
    if (flags['max-ang-vel'] !== undefined && !flags.moving) this.error('--max-ang-vel needs --moving: still sources have no angular velocity', {exit: 2})
    const dataset = syntheticDataset(flags.kind as 'foa' | 'mic', flags.room as 'anechoic' | 'reverberant', flags.moving)
    try {
      const options = datasetOptions(dataset, {
        ov: flags.ov, split: flags.split, trainFiles: flags.files, testFiles: flags['test-files'] ?? Math.ceil(flags.files / 3),
        duration: flags.duration, seed: flags.seed, rt60: flags.rt60, shiftTestDoa: flags['shift-test-doa'], sources: flags.sources,
        ...(flags.moving ? {moving: {maxAngularVelocity: flags['max-ang-vel'] ?? DEFAULT_MAX_ANGULAR_VELOCITY}} : {}),
      })
      const {zip} = await synthesizeSplit(options, flags.out, (id, done, total) => this.log(`${id.name}.wav (${done}/${total})`))
      this.log(`wrote ${zip} (as dataset ${dataset.name})`)
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
  }
}
