import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import { formatListing } from '../../cli/format.js'
import { listingJson, type FileJson } from '../../cli/listing-json.js'

export default class ClientShow extends OneShotClientCommand {
  static override description = 'List the files on the Tor-Server (name, size, last modified).'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json --port 9000']
  static override enableJsonFlag = true
  static override flags = clientFlags

  async run(): Promise<FileJson[]> {
    const { flags } = await this.parse(ClientShow)
    const outcome = await this.runOnce(flags, { verb: 'show' })
    const entries = outcome.kind === 'listing' ? outcome.entries : []
    if (!this.jsonEnabled()) formatListing(entries, 'The server has no files yet.').forEach((line) => this.log(line))
    return listingJson(entries)
  }
}
