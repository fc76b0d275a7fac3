import { Command, Flags } from '@oclif/core'
import { combineInspectors, startStatelyInspector } from '../../actors/inspector.js'
import { startServer } from '../../actors/server-runtime.js'
import { createTraceRecorder } from '../../actors/trace-recorder.js'
import { attachConsole } from '../../cli/admin-console.js'
import { parseByteSize } from '../../cli/sizes.js'
import { isTorError } from '../../errors.js'

export default class ServerStart extends Command {
  static override description =
    'Start the Tor-Server: serve a folder over TFTCP and run the admin console (list, clear, exit, help) on stdin.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 9000 --dir /srv/shared',
    '<%= config.bin %> <%= command.id %> --host 127.0.0.1 --no-console',
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
    let print = (line: string) => this.log(line)
    const recorder = flags['trace-dir'] ? createTraceRecorder(flags['trace-dir']) : undefined
    const inspector = flags.inspect ? await startStatelyInspector(flags['inspect-port']) : undefined
    const server = await startServer({
      host: flags.host,
      port: flags.port,
      dir: flags.dir,
      maxUploadBytes,
      log: (line) => print(`${new Date().toISOString()} ${line}`),
      answer: (line) => print(line),
      clear: () => process.stdout.write('\x1b[2J\x1b[3J\x1b[H'),
      inspect: combineInspectors(recorder?.inspect, inspector?.inspect),
    }).catch((error: unknown) => this.error(isTorError(error) ? error.message : String(error), { exit: 1 }))

    // Before announcing the server: a signal right after the announcement must stop it cleanly.
    const stop = () => server.shutdown()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    this.log(`Tor-Server listening on ${server.host}:${server.port}, serving ${server.root}`)
    if (recorder) this.log(`Recording one session trace per client in ${flags['trace-dir']}`)
    if (inspector) this.log(`Inspector: open ${inspector.url} in a browser to watch the machines live`)
    if (flags.console) {
      const plain = print
      this.log('Admin console ready: type help for the commands.')
      const console = attachConsole(server, process.stdin, process.stdout, (line) => this.log(line))
      print = (line) => console.print(line)
      void server.stopped.then(() => {
        console.close()
        print = plain
      })
    }
    await server.stopped
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    recorder?.close()
    inspector?.stop()
    this.log('Tor-Server stopped.')
    // stdin may still hold the event loop open (a terminal or a pipe nobody closes).
    process.exit(0)
  }
}
