import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import type { FileJson } from '../../cli/listing-json.js'
import { searchFiles } from '../../cli/one-shot.js'

export default class ClientSearch extends OneShotClientCommand {
  static override description = 'List the files whose name contains TEXT (case-sensitive); with --long, each SHA-256.'
  static override examples = ['<%= config.bin %> <%= command.id %> report', '<%= config.bin %> <%= command.id %> ".pdf" --json']
  static override enableJsonFlag = true
  static override flags = { ...clientFlags, long: Flags.boolean({ description: "with each file's SHA-256", default: false }) }
  static override args = { text: Args.string({ description: 'text the names must contain', required: true }) }

  async run(): Promise<FileJson[]> {
    const { args, flags } = await this.parse(ClientSearch)
    return searchFiles(args.text, flags, this.output)
  }
}
