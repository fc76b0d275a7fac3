import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import { formatListing } from '../../cli/format.js'
import { listingJson, type FileJson } from '../../cli/listing-json.js'

export default class ClientSearch extends OneShotClientCommand {
  static override description = 'List the files whose name contains TEXT (case-sensitive); with --long, each SHA-256.'
  static override examples = ['<%= config.bin %> <%= command.id %> report', '<%= config.bin %> <%= command.id %> ".pdf" --json']
  static override enableJsonFlag = true
  static override flags = { ...clientFlags, long: Flags.boolean({ description: "with each file's SHA-256", default: false }) }
  static override args = { text: Args.string({ description: 'text the names must contain', required: true }) }

  async run(): Promise<FileJson[]> {
    const { args, flags } = await this.parse(ClientSearch)
    const outcome = await this.runOnce(flags, flags.long ? { verb: 'hashes', text: args.text } : { verb: 'search', text: args.text })
    const entries = outcome.kind === 'listing' ? outcome.entries : []
    if (!this.jsonEnabled()) formatListing(entries, `No file name contains "${args.text}".`).forEach((line) => this.log(line))
    return listingJson(entries)
  }
}
