import {Args, Command, Flags} from '@oclif/core'
import {DATASETS, datasetSpec} from '../seld/features/datasets.js'
import {targetsPath, writeLabelFiles} from '../seld/features/labels.js'

export default class Labels extends Command {
  static override description = `Published SELDnet regression labels of one description csv.

Writes frames × 3K (K activities, K azimuths, K elevations in degrees; 180 / 60 where inactive) to --out, and the
network targets frames × 4K (activities, then unit x, y, z of every class; zeros where inactive) next to it as
<name>.targets.npy. Frames cover the dataset's fixed recording length at hop nfft/2.

Moving sources follow the later published code's per-frame trajectories: a MANSIM csv
(sound_event_recording,start_time,end_time,ele,azi,ele_dir,azi_dir,ang_vel,dist) moves each source on the great circle
towards (azi_dir, ele_dir) at ang_vel °/s; an MREAL csv (sound_event_recording,start_time,end_time,ele,azi,ang_vel,dist)
ramps its azimuth at ang_vel °/s.`
  static override examples = [
    '<%= config.bin %> labels desc/train_1.csv --dataset ansim --nfft 512 --out labels.npy',
    '<%= config.bin %> labels desc_ov1_split1/train_0.csv --dataset mansim --nfft 1024 --out train_0.npy',
  ]
  static override args = {
    csv: Args.string({required: true, description: 'description file (sound_event_recording,start_time,end_time,ele,azi,dist, or the MANSIM / MREAL layout)'}),
  }
  static override flags = {
    dataset: Flags.string({required: true, options: Object.keys(DATASETS), description: 'dataset giving classes, sample rate and length'}),
    nfft: Flags.integer({default: 512, min: 4, description: 'FFT length; frames advance by nfft/2'}),
    out: Flags.string({required: true, description: 'label matrix .npy to write'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Labels)
    const targets = targetsPath(flags.out)
    try {
      writeLabelFiles(args.csv, flags.out, targets, datasetSpec(flags.dataset), flags.nfft)
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
    this.log(`wrote ${flags.out} and ${targets}`)
  }
}
