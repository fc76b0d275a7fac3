import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import type { FileJson } from '../../cli/listing-json.js'
import { showFiles } from '../../cli/one-shot.js'

export default class ClientShow extends OneShotClientCommand {
  static override description = 'List the files on the Tor-Server (name, size, last modified; with --long, each SHA-256 as sha256sum prints it).'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --long', '<%= config.bin %> <%= command.id %> --json --port 9000']
  static override enableJsonFlag = true
  static override flags = { ...clientFlags, long: Flags.boolean({ description: "with each file's SHA-256 (the server hashes a file once, then keeps it)", default: false }) }

  async run(): Promise<FileJson[]> {
    const { flags } = await this.parse(ClientShow)
    return showFiles(flags, this.output)
  }
}
