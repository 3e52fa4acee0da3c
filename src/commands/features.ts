import {Args, Command, Flags} from '@oclif/core'
import {extractFeatureFile} from '../seld/features/features.js'
import {DEFAULT_MEL_BANDS, FEATURE_KINDS, featureSpec} from '../seld/features/feature-kinds.js'

export default class Features extends Command {
  static override description = `SELDnet features of one 16-bit PCM WAV file.

Writes a float32 .npy of frames × bins × channels. --kind stft (the published features): nfft/2 bins × 2C, per bin
the C channel magnitudes then the C phases of the published spectrogram (Hann window, hop nfft/2, orthonormal FFT).
--kind logmel_iv (4-channel Ambisonics): mel bands × 7, the 4 log-mel spectra then the 3 intensity-vector channels.
--kind logmel_gcc (arrays): mel bands × (C + C(C−1)/2), the C log-mel spectra then the GCC-PHAT of every pair.
Frames follow the file's own length, ceil((samples − nfft) / hop), unless --seconds pads or cuts it to a fixed length.`
  static override examples = [
    '<%= config.bin %> features wav/train_0.wav --nfft 512 --out feat.npy',
    '<%= config.bin %> features take3.wav --out take3.npy --seconds 30',
    '<%= config.bin %> features foa.wav --kind logmel_iv --nfft 1024 --mel-bands 64 --out foa.npy',
  ]
  static override args = {wav: Args.string({required: true, description: '16-bit PCM WAV file'})}
  static override flags = {
    nfft: Flags.integer({default: 512, min: 4, description: 'FFT length (a power of two); frames advance by nfft/2'}),
    out: Flags.string({required: true, description: 'feature .npy to write'}),
    seconds: Flags.string({description: 'pad or cut the recording to this many seconds'}),
    kind: Flags.string({default: 'stft', options: [...FEATURE_KINDS], description: 'feature preset'}),
    'mel-bands': Flags.integer({default: DEFAULT_MEL_BANDS, min: 1, description: 'mel bands of the log-mel kinds'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Features)
    try {
      const seconds = flags.seconds === undefined ? undefined : Number(flags.seconds)
      if (seconds !== undefined && !(seconds > 0)) throw new Error(`--seconds must be a positive number, got '${flags.seconds}'`)
      const spec = featureSpec(flags.nfft, flags.kind, flags['mel-bands'])
      extractFeatureFile(args.wav, flags.out, {nfft: flags.nfft, kind: spec.kind, melBands: spec.melBands, seconds})
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
    this.log(`wrote ${flags.out}`)
  }
}
