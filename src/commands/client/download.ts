import * as Flags from '@oclif/core/flags'
import { matchNames } from '../../actors/client-batch.js'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'

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
    const files = argv as string[]
    if (files.length === 0 && flags.search === undefined && !flags.all) this.error('name the files to download, or use --search TEXT or --all', { exit: 2 })
    if (files.length > 0 && (flags.search !== undefined || flags.all)) this.error('give file names, or --search, or --all: not both', { exit: 2 })
    const patterns = files.some((f) => f.includes('*') || f.includes('?'))
    if (files.length === 1 && !patterns) {
      const outcome = await this.runOnce(flags, { verb: 'download', name: files[0]! })
      return this.reportTransfer(outcome, flags.dir)
    }
    if (!patterns && flags.search === undefined && !flags.all) return this.runBatchOnce(flags, 'download', files)
    await this.runBatchOnce(flags, 'download', (listing) => {
      const names = listing.map((entry) => entry.name)
      if (flags.all) return names
      if (flags.search !== undefined) return names.filter((name) => name.includes(flags.search!))
      return [...new Set(files.flatMap((pattern) => matchNames(pattern, names)))]
    })
  }
}
