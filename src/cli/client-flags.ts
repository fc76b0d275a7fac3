import * as Flags from '@oclif/core/flags'

/** The client's flags for oclif; the same as CLIENT_FLAG_SPECS in client-flag-specs.ts (a test compares them). */
export const clientFlags = {
  host: Flags.string({ description: 'Tor-Server address', default: '127.0.0.1', env: 'TOR_HOST' }),
  port: Flags.integer({ description: 'Tor-Server port', default: 7777, min: 1, max: 65535, env: 'TOR_PORT' }),
  dir: Flags.string({
    description: 'local folder: downloads go to <dir>/Downloads, uploads are read from <dir>/Uploads',
    default: './tor-files',
    env: 'TOR_CLIENT_DIR',
  }),
  timeout: Flags.integer({
    description: 'seconds the server may stay silent during a command before it fails (TOR_ERR_TIMEOUT)',
    default: 60,
    min: 1,
    env: 'TOR_TIMEOUT',
  }),
  tls: Flags.boolean({
    description: 'talk TLS to the server (default: on for every host that is not loopback; --no-tls to refuse it)',
    allowNo: true,
    env: 'TOR_TLS',
  }),
  user: Flags.string({
    description: 'log in with this account; its token comes from TOR_TOKEN or --token-file (never the command line, where ps shows it), or is asked for at a terminal',
    env: 'TOR_USER',
  }),
  'token-file': Flags.string({ description: "a file whose first line is the account's token" }),
  fingerprint: Flags.string({
    description: "the server certificate's SHA-256 fingerprint, as it prints at start: only that certificate is accepted",
    env: 'TOR_FINGERPRINT',
  }),
}
