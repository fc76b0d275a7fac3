import * as path from 'node:path'
import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import { batchedLines } from '../../cli/batched-lines.js'
import { serve } from '../../cli/serve.js'
import { parseByteSize, parseDuration, parseSeconds } from '../../cli/sizes.js'
import { DEFAULT_LIMITS } from '../../actors/server-runtime.js'
import { decideServerPolicy, type AnonymousAccess } from '../../cli/server-policy.js'
import { isTorError } from '../../errors.js'
import { parseStorageLocation } from '../../storage/s3-location.js'

export default class ServerStart extends Command {
  static override description =
    'Start the Tor-Server: serve a folder over TFTCP and run the admin console (list, kick, clear, exit, help) on stdin. Ctrl-C or SIGTERM stops accepting and lets transfers in flight finish (up to --drain-timeout); a second one stops at once.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 9000 --dir /srv/shared',
    '<%= config.bin %> <%= command.id %> --storage s3://team-files/tor --s3-endpoint http://10.0.0.5:9000',
    '<%= config.bin %> <%= command.id %> --host 0.0.0.0 --tls',
    '<%= config.bin %> <%= command.id %> --host 0.0.0.0 --tls --anonymous read',
    '<%= config.bin %> <%= command.id %> --no-console',
    '<%= config.bin %> <%= command.id %> --trace-dir traces --inspect',
    '<%= config.bin %> <%= command.id %> --idle-timeout 60 --max-clients 100 --max-per-ip 4',
  ]

  static override flags = {
    host: Flags.string({ description: 'address to listen on (any other than loopback needs --tls or --insecure)', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'TCP port to listen on (0 picks a free one)', default: 7777, min: 0, max: 65535 }),
    dir: Flags.string({ description: 'folder of files to serve, created if missing [default: ./tor_files]', exclusive: ['storage'] }),
    storage: Flags.string({
      description: 'serve the objects of an S3-compatible bucket instead of a folder: s3://bucket/prefix (credentials and region as the AWS SDK finds them)',
      helpValue: 's3://bucket/prefix',
    }),
    's3-endpoint': Flags.string({ description: 'S3 endpoint URL for a store other than AWS (MinIO, Ceph, Garage...); default AWS_ENDPOINT_URL or AWS', dependsOn: ['storage'] }),
    's3-list-ttl': Flags.string({ description: 'seconds a bucket listing is reused: another server\'s upload shows in listings at most this late', default: '2' }),
    tls: Flags.boolean({ description: 'serve TLS only on the port (a self-signed certificate is made in --state-dir on first start)', default: false }),
    'tls-cert': Flags.string({ description: 'PEM certificate (chain) to serve with --tls instead of the self-signed one', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'PEM private key of --tls-cert', dependsOn: ['tls-cert'] }),
    'state-dir': Flags.string({ description: "the server's own folder: TLS certificate, accounts, the journal of S3 uploads in progress (one per server)", default: './.tor-server' }),
    insecure: Flags.boolean({ description: 'allow clear text on an address other than loopback', default: false }),
    anonymous: Flags.string({ description: 'what clients without an account may do (default: write on loopback, off elsewhere)', options: ['off', 'read', 'write'] }),
    'keep-partial': Flags.string({
      description: 'how long an account\'s cut upload is kept for it to continue (e.g. 12h, 1d, 90m; 0 keeps none)',
      default: '1d',
    }),
    'max-upload': Flags.string({ description: 'largest upload accepted, e.g. 512M, 10G', default: '64G' }),
    'idle-timeout': Flags.string({ description: 'seconds a client may wait between commands before it is disconnected', default: String(DEFAULT_LIMITS.session.idleTimeoutMs / 1000) }),
    'stall-timeout': Flags.string({ description: 'seconds a transfer or listing may make no progress before the session is ended', default: String(DEFAULT_LIMITS.session.stallTimeoutMs / 1000) }),
    'max-clients': Flags.integer({ description: 'clients connected at once; more are refused with an error line', default: DEFAULT_LIMITS.maxClients, min: 1 }),
    'max-per-ip': Flags.integer({ description: 'clients connected at once from one address', default: DEFAULT_LIMITS.maxPerIp, min: 1 }),
    'drain-timeout': Flags.string({ description: 'seconds to let transfers in flight finish on Ctrl-C/SIGTERM', default: String(DEFAULT_LIMITS.drainTimeoutMs / 1000) }),
    console: Flags.boolean({ description: 'run the admin console on stdin', default: true, allowNo: true }),
    'trace-dir': Flags.string({ description: 'record one JSON Lines trace per session into this folder (replay with tor trace replay)' }),
    inspect: Flags.boolean({ description: 'attach the Stately inspector and print the URL to open', default: false }),
    'inspect-port': Flags.integer({ description: 'port of the local inspector bridge (it listens on --host, or on 127.0.0.1 when --host is every interface)', default: 8080 }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(ServerStart)
    const maxUploadBytes = parseByteSize(flags['max-upload'])
    if (maxUploadBytes === undefined) this.error(`--max-upload: not a size: ${flags['max-upload']} (try 512M or 10G)`, { exit: 2 })
    const seconds = (flag: 'idle-timeout' | 'stall-timeout' | 'drain-timeout' | 's3-list-ttl') => {
      const ms = parseSeconds(flags[flag])
      if (ms === undefined) this.error(`--${flag}: not a number of seconds: ${flags[flag]} (try 300 or 0.5)`, { exit: 2 })
      return ms
    }
    const keepPartialMs = parseDuration(flags['keep-partial'])
    if (keepPartialMs === undefined) this.error(`--keep-partial: not a duration: ${flags['keep-partial']} (try 12h, 1d or 3600)`, { exit: 2 })
    const policy = decideServerPolicy({ host: flags.host, tls: flags.tls, insecure: flags.insecure, anonymous: flags.anonymous as AnonymousAccess | undefined })
    if (!policy.ok) this.error(`refusing to start: ${policy.reason}`, { exit: 2 })
    if ((flags['tls-cert'] || flags['tls-key']) && !flags.tls) this.error('--tls-cert and --tls-key need --tls', { exit: 2 })
    const storage = parseStorageLocation(flags.storage ?? flags.dir ?? './tor_files')
    if ('problem' in storage) this.error(`--storage: ${storage.problem}`, { exit: 2 })
    if (storage.kind === 'folder') {
      const inside = path.relative(path.resolve(storage.dir), path.resolve(flags['state-dir']))
      if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside) && !inside.startsWith('.'))) {
        this.error(`--state-dir ${flags['state-dir']} would be served from --dir ${storage.dir} (accounts, TLS key): put it outside, or in a folder whose name starts with "."`, { exit: 2 })
      }
    } else if (flags['s3-endpoint'] !== undefined && !/^https?:\/\/[^/]/.test(flags['s3-endpoint'])) {
      this.error(`--s3-endpoint: not an http(s) URL: ${flags['s3-endpoint']} (try http://127.0.0.1:9000)`, { exit: 2 })
    }
    const options = {
      host: flags.host,
      tls: flags.tls ? { certFile: flags['tls-cert'], keyFile: flags['tls-key'] } : undefined,
      anonymous: policy.anonymous,
      stateDir: flags['state-dir'],
      port: flags.port,
      storage,
      s3Endpoint: flags['s3-endpoint'],
      s3ListTtlMs: seconds('s3-list-ttl'),
      keepPartialMs: keepPartialMs,
      limits: {
        maxClients: flags['max-clients'],
        maxPerIp: flags['max-per-ip'],
        drainTimeoutMs: seconds('drain-timeout'),
        session: {
          ...DEFAULT_LIMITS.session,
          maxUploadBytes,
          idleTimeoutMs: seconds('idle-timeout'),
          stallTimeoutMs: seconds('stall-timeout'),
        },
      },
      console: flags.console,
      traceDir: flags['trace-dir'],
      inspectPort: flags.inspect ? flags['inspect-port'] : undefined,
    }
    // A terminal gets each line as it comes; a file or pipe gets them gathered per event-loop turn.
    const lines = process.stdout.isTTY ? undefined : batchedLines(process.stdout)
    await serve(options, lines ? lines.write : (line) => this.log(line))
      .catch((error: unknown) => {
        lines?.flush()
        this.error(isTorError(error) ? error.message : String(error), { exit: 1 })
      })
      .finally(() => lines?.flush())
    // stdin may still hold the event loop open (a terminal or a pipe nobody closes).
    process.exit(0)
  }
}
