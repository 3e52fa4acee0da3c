import {Command} from '@oclif/core'

export default class Version extends Command {
  static override description = 'placeholder'
  async run(): Promise<void> {
    this.log('seldpipe')
  }
}
