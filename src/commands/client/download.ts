import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import { downloadFiles } from '../../cli/one-shot.js'

export default class ClientDownload extends OneShotClientCommand {
  static override description =
    'Download FILEs from the Tor-Server into <dir>/Downloads, each SHA-256 verified and complete or not at all. A download that was cut resumes where it stopped. Several files (names, shell-style patterns such as "*.pdf" matched against the server\'s listing, --search, --all) go over one connection with one progress display; the exit code is 1 if any failed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> report.pdf',
    '<%= config.bin %> <%= command.id %> "big file.iso" --dir ~/tor',
    '<%= config.bin %> <%= command.id %> a.txt b.txt c.txt',
    '<%= config.bin %> <%= command.id %> "*.pdf"',
    '<%= config.bin %> <%= command.id %> --search 2026-',
    '<%= config.bin %> <%= command.id %> --all',
  ]
  static override strict = false
  static override flags = {
    ...clientFlags,
    search: Flags.string({ description: 'download every file whose name contains this text (as search does)', exclusive: ['all'] }),
    all: Flags.boolean({ description: 'download every file on the server', default: false }),
  }
  static override args = {}
  static override usage = ['<%= command.id %> FILE... [flags]', '<%= command.id %> --search TEXT [flags]', '<%= command.id %> --all [flags]']

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ClientDownload)
    return downloadFiles(argv as string[], flags, this.output)
  }
}
