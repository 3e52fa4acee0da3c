import {Args, Command, Flags} from '@oclif/core'
import {extractFeatureFile} from '../seld/features/features.js'

export default class Features extends Command {
  static override description = `SELDnet features of one 16-bit PCM WAV file.

Writes a float32 .npy of frames × nfft/2 bins × 2C: per bin, the C channel magnitudes then the C phases of the
published spectrogram (Hann window, hop nfft/2, orthonormal FFT). Frames follow the file's own length,
ceil((samples − nfft) / hop), unless --seconds pads or cuts it to a fixed length.`
  static override examples = [
    '<%= config.bin %> features wav/train_0.wav --nfft 512 --out feat.npy',
    '<%= config.bin %> features take3.wav --out take3.npy --seconds 30',
  ]
  static override args = {wav: Args.string({required: true, description: '16-bit PCM WAV file'})}
  static override flags = {
    nfft: Flags.integer({default: 512, min: 4, description: 'FFT length (a power of two); frames advance by nfft/2'}),
    out: Flags.string({required: true, description: 'feature .npy to write'}),
    seconds: Flags.string({description: 'pad or cut the recording to this many seconds'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Features)
    try {
      const seconds = flags.seconds === undefined ? undefined : Number(flags.seconds)
      if (seconds !== undefined && !(seconds > 0)) throw new Error(`--seconds must be a positive number, got '${flags.seconds}'`)
      extractFeatureFile(args.wav, flags.out, {nfft: flags.nfft, seconds})
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
    this.log(`wrote ${flags.out}`)
  }
}
