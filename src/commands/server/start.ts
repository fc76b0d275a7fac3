import { Command, Flags } from '@oclif/core'
import { serve } from '../../cli/serve.js'
import { parseByteSize } from '../../cli/sizes.js'
import { isTorError } from '../../errors.js'

export default class ServerStart extends Command {
  static override description =
    'Start the Tor-Server: serve a folder over TFTCP and run the admin console (list, clear, exit, help) on stdin.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 9000 --dir /srv/shared',
    '<%= config.bin %> <%= command.id %> --host 127.0.0.1 --no-console',
    '<%= config.bin %> <%= command.id %> --trace-dir traces --inspect',
  ]

  static override flags = {
    host: Flags.string({ description: 'address to listen on', default: '0.0.0.0' }),
    port: Flags.integer({ description: 'TCP port to listen on (0 picks a free one)', default: 7777, min: 0, max: 65535 }),
    dir: Flags.string({ description: 'folder of files to serve (created if missing)', default: './tor_files' }),
    'max-upload': Flags.string({ description: 'largest upload accepted, e.g. 512M, 10G', default: '64G' }),
    console: Flags.boolean({ description: 'run the admin console on stdin', default: true, allowNo: true }),
    'trace-dir': Flags.string({ description: 'record one JSON Lines trace per session into this folder (replay with tor trace replay)' }),
    inspect: Flags.boolean({ description: 'attach the Stately inspector and print the URL to open', default: false }),
    'inspect-port': Flags.integer({ description: 'port of the local inspector bridge', default: 8080 }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(ServerStart)
    const maxUploadBytes = parseByteSize(flags['max-upload'])
    if (maxUploadBytes === undefined) this.error(`--max-upload: not a size: ${flags['max-upload']}`, { exit: 2 })
    const options = {
      host: flags.host,
      port: flags.port,
      dir: flags.dir,
      maxUploadBytes,
      console: flags.console,
      traceDir: flags['trace-dir'],
      inspectPort: flags.inspect ? flags['inspect-port'] : undefined,
    }
    await serve(options, (line) => this.log(line)).catch((error: unknown) =>
      this.error(isTorError(error) ? error.message : String(error), { exit: 1 }),
    )
    // stdin may still hold the event loop open (a terminal or a pipe nobody closes).
    process.exit(0)
  }
}
