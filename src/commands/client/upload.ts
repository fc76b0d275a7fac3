import { readdir } from 'node:fs/promises'
import * as path from 'node:path'
import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import { isValidName } from '../../protocol/index.js'

export default class ClientUpload extends OneShotClientCommand {
  static override description =
    'Upload FILEs from <dir>/Uploads to the Tor-Server; the server stores each only if its SHA-256 matches, and it appears there only once complete. Several files (names, paths into Uploads as a shell glob gives them, or --all) go over one connection with one progress display; the exit code is 1 if any failed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> notes.txt',
    '<%= config.bin %> <%= command.id %> backup.tar --host 10.0.0.5',
    '<%= config.bin %> <%= command.id %> tor-files/Uploads/*.jpg',
    '<%= config.bin %> <%= command.id %> --all',
  ]
  static override strict = false
  static override flags = { ...clientFlags, all: Flags.boolean({ description: 'upload every file in <dir>/Uploads', default: false }) }
  static override args = {}
  static override usage = ['<%= command.id %> FILE... [flags]', '<%= command.id %> --all [flags]']

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ClientUpload)
    const uploads = path.resolve(flags.dir, 'Uploads')
    // A path (what a shell glob gives) names a file in Uploads by its last part.
    const names = (argv as string[]).map((arg) => {
      if (!arg.includes('/')) return arg
      if (path.dirname(path.resolve(arg)) !== uploads) this.error(`${arg} is not in ${uploads}: uploads are read from there`, { exit: 2 })
      return path.basename(arg)
    })
    if (names.length === 0 && !flags.all) this.error('name the files to upload (from <dir>/Uploads), or use --all', { exit: 2 })
    if (names.length > 0 && flags.all) this.error('give file names or --all: not both', { exit: 2 })
    if (names.length === 1) {
      const outcome = await this.runOnce(flags, { verb: 'upload', name: names[0]! })
      return this.reportTransfer(outcome, flags.dir)
    }
    const all = flags.all
      ? (await readdir(uploads, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile() && isValidName(e.name)).map((e) => e.name).sort()
      : names
    await this.runBatchOnce(flags, 'upload', all)
  }
}
