import * as Flags from '@oclif/core/flags'
import { OneShotClientCommand } from '../../cli/client-command.js'
import { clientFlags } from '../../cli/client-flags.js'
import { uploadFiles } from '../../cli/one-shot.js'

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
    return uploadFiles(argv as string[], flags, this.output)
  }
}
