import { Flags } from '@oclif/core'
import type { ClientOptions } from '../actors/client-runtime.js'
import { normalizeFingerprint } from '../actors/server-trust.js'

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
  fingerprint: Flags.string({
    description: "the server certificate's SHA-256 fingerprint, as it prints at start: only that certificate is accepted",
    env: 'TOR_FINGERPRINT',
  }),
}

/** The options every client command reads; a bad --fingerprint is a usage error (exit 2). */
export const clientOptionsFrom = (
  flags: { host: string; port: number; dir: string; timeout: number; tls?: boolean; fingerprint?: string },
  usageError: (message: string) => never,
  say: (line: string) => void,
): ClientOptions => {
  const fingerprint = flags.fingerprint === undefined ? undefined : normalizeFingerprint(flags.fingerprint)
  if (flags.fingerprint !== undefined && fingerprint === undefined) {
    usageError(`--fingerprint: not a SHA-256 fingerprint: ${flags.fingerprint} (64 hex digits, colons optional, as the server prints it at start)`)
  }
  return { host: flags.host, port: flags.port, dir: flags.dir, timeout: flags.timeout, tls: flags.tls, fingerprint, say }
}
