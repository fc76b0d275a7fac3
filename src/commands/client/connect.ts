import { Command } from '@oclif/core'
import { TorClient } from '../../actors/client-runtime.js'
import { clientFlags } from '../../cli/client-flags.js'
import { runShell } from '../../cli/client-shell.js'
import { isTorError } from '../../errors.js'

export default class ClientConnect extends Command {
  static override description =
    'Connect to a Tor-Server and open an interactive prompt: show, search, upload, download, help, exit.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --host 10.0.0.5 --port 9000 --dir ~/tor']
  static override flags = clientFlags

  async run(): Promise<void> {
    const { flags } = await this.parse(ClientConnect)
    const client = await TorClient.connect(flags).catch((error: unknown) =>
      this.error(isTorError(error) ? error.message : String(error), { exit: 1 }),
    )
    this.log(`Connected to ${flags.host}:${flags.port}. Downloads go to ${client.folders.downloads}, uploads come from ${client.folders.uploads}.`)
    this.log('Type help for the commands.')
    const code = await runShell(client, flags.dir, {
      input: process.stdin,
      output: process.stdout,
      print: (line) => this.log(line),
      printError: (line) => this.logToStderr(line),
    })
    await client.close()
    if (code !== 0) this.exit(code)
    this.log('Bye.')
  }
}
