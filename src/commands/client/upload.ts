import { Args } from '@oclif/core'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'

export default class ClientUpload extends OneShotClientCommand {
  static override description = 'Upload FILE from <dir>/Uploads to the Tor-Server (it appears there only once complete).'
  static override examples = ['<%= config.bin %> <%= command.id %> notes.txt', '<%= config.bin %> <%= command.id %> backup.tar --host 10.0.0.5']
  static override flags = clientFlags
  static override args = { file: Args.string({ description: 'name of the file in <dir>/Uploads', required: true }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ClientUpload)
    const outcome = await this.runOnce(flags, { verb: 'upload', name: args.file })
    this.reportTransfer(outcome, flags.dir)
  }
}
