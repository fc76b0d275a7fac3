/**
 * The one-shot client commands' flags as plain data, for the start path that runs them
 * without loading oclif (`fast-client.ts`). The oclif commands declare the same flags
 * with oclif's builders; a test (test/cli/fast-client.test.ts) fails when the two
 * disagree on a name, a kind, a default, a bound or an environment variable. Nothing
 * here imports oclif.
 */
export type FlagSpec =
  | { readonly kind: 'string'; readonly description: string; readonly default?: string; readonly env?: string; readonly exclusive?: readonly string[] }
  | { readonly kind: 'integer'; readonly description: string; readonly default?: number; readonly min?: number; readonly max?: number; readonly env?: string }
  | { readonly kind: 'boolean'; readonly description: string; readonly default?: boolean; readonly allowNo?: boolean; readonly env?: string }

export type FlagSpecs = Readonly<Record<string, FlagSpec>>

export const CLIENT_FLAG_SPECS = {
  host: { kind: 'string', description: 'Tor-Server address', default: '127.0.0.1', env: 'TOR_HOST' },
  port: { kind: 'integer', description: 'Tor-Server port', default: 7777, min: 1, max: 65535, env: 'TOR_PORT' },
  dir: {
    kind: 'string',
    description: 'local folder: downloads go to <dir>/Downloads, uploads are read from <dir>/Uploads',
    default: './tor-files',
    env: 'TOR_CLIENT_DIR',
  },
  timeout: {
    kind: 'integer',
    description: 'seconds the server may stay silent during a command before it fails (TOR_ERR_TIMEOUT)',
    default: 60,
    min: 1,
    env: 'TOR_TIMEOUT',
  },
  tls: {
    kind: 'boolean',
    description: 'talk TLS to the server (default: on for every host that is not loopback; --no-tls to refuse it)',
    allowNo: true,
    env: 'TOR_TLS',
  },
  user: {
    kind: 'string',
    description:
      'log in with this account; its token comes from TOR_TOKEN or --token-file (never the command line, where ps shows it), or is asked for at a terminal',
    env: 'TOR_USER',
  },
  'token-file': { kind: 'string', description: "a file whose first line is the account's token" },
  fingerprint: {
    kind: 'string',
    description: "the server certificate's SHA-256 fingerprint, as it prints at start: only that certificate is accepted",
    env: 'TOR_FINGERPRINT',
  },
} as const satisfies FlagSpecs

/** The flags of each one-shot client command: the client's, and its own. */
export const ONE_SHOT_FLAG_SPECS = {
  show: { ...CLIENT_FLAG_SPECS, long: { kind: 'boolean', description: "with each file's SHA-256 (the server hashes a file once, then keeps it)", default: false } },
  search: { ...CLIENT_FLAG_SPECS, long: { kind: 'boolean', description: "with each file's SHA-256", default: false } },
  download: {
    ...CLIENT_FLAG_SPECS,
    search: { kind: 'string', description: 'download every file whose name contains this text (as search does)', exclusive: ['all'] },
    all: { kind: 'boolean', description: 'download every file on the server', default: false },
  },
  upload: { ...CLIENT_FLAG_SPECS, all: { kind: 'boolean', description: 'upload every file in <dir>/Uploads', default: false } },
} as const satisfies Record<string, FlagSpecs>

export type OneShotCommand = keyof typeof ONE_SHOT_FLAG_SPECS

/** The flags every client command reads. */
export interface ClientFlags {
  readonly host: string
  readonly port: number
  readonly dir: string
  readonly timeout: number
  readonly tls?: boolean
  readonly user?: string
  readonly 'token-file'?: string
  readonly fingerprint?: string
}
