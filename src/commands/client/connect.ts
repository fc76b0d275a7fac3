import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import { startStatelyInspector } from '../../actors/inspector.js'
import { TorClient } from '../../actors/client-runtime.js'
import { clientFlags } from '../../cli/client-flags.js'
import { askHidden, clientOptionsFrom } from '../../cli/client-options.js'
import { runShell } from '../../cli/client-shell.js'
import { isTorError } from '../../errors.js'

export default class ClientConnect extends Command {
  static override description =
    'Connect to a Tor-Server and open an interactive prompt: show, search, upload, download, help, exit.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --host 10.0.0.5 --port 9000 --dir ~/tor']
  static override flags = {
    ...clientFlags,
    inspect: Flags.boolean({ description: 'attach the Stately inspector and print the URL to open', default: false }),
    'inspect-port': Flags.integer({ description: 'port of the local inspector bridge', default: 8081 }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(ClientConnect)
    const inspector = flags.inspect ? await startStatelyInspector(flags['inspect-port']) : undefined
    if (inspector) this.log(`Inspector: open ${inspector.url} in a browser to watch the client machine live`)
    const options = await clientOptionsFrom(
      flags,
      (message) => this.error(message, { exit: 2 }),
      (line) => this.logToStderr(line),
      process.stdin.isTTY ? (account) => askHidden(`Token for ${account}: `) : undefined,
    )
    const connect = () => TorClient.connect({ ...options, inspect: inspector?.inspect })
    const client = await connect().catch((error: unknown) =>
      this.error(isTorError(error) ? `${error.message} [${error.code}]` : String(error), { exit: 1 }),
    )
    const how = [client.encrypted ? 'over TLS' : 'in clear text', options.login ? `as ${options.login.account}` : 'anonymously'].join(', ')
    this.log(`Connected to ${flags.host}:${flags.port} (${how}). Downloads go to ${client.folders.downloads}, uploads come from ${client.folders.uploads}.`)
    this.log('Type help for the commands.')
    let current = client
    const code = await runShell(
      client,
      flags.dir,
      {
        input: process.stdin,
        output: process.stdout,
        print: (line) => this.log(line),
        printError: (line) => this.logToStderr(line),
      },
      async () => (current = await connect()),
    )
    await current.close()
    inspector?.stop()
    if (code !== 0) this.exit(code)
    this.log('Bye.')
  }
}
