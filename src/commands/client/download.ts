import { Args } from '@oclif/core'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'

export default class ClientDownload extends OneShotClientCommand {
  static override description = 'Download FILE from the Tor-Server into <dir>/Downloads (complete or not at all).'
  static override examples = ['<%= config.bin %> <%= command.id %> report.pdf', '<%= config.bin %> <%= command.id %> "big file.iso" --dir ~/tor']
  static override flags = clientFlags
  static override args = { file: Args.string({ description: 'name of the file on the server', required: true }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ClientDownload)
    const outcome = await this.runOnce(flags, { verb: 'download', name: args.file })
    this.reportTransfer(outcome, flags.dir)
  }
}
