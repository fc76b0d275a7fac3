// fs.promises, not node:fs/promises: it loads on first use (about 1.2 ms of every client command's start otherwise).
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { StorageFailure, UntrustedServer } from '../errors.js'
import type { PeerCertificate } from './transport.js'

/** The file in the client folder that remembers each server's certificate, like ssh's known_hosts. */
export const KNOWN_SERVERS = 'known_servers'

/** A SHA-256 fingerprint in one form (upper-case hex pairs with colons), whatever way it was typed. */
export const normalizeFingerprint = (text: string): string | undefined => {
  const hex = text.trim().replace(/^sha256:/i, '').replace(/[:\s]/g, '').toUpperCase()
  return /^[0-9A-F]{64}$/.test(hex) ? hex.match(/../g)!.join(':') : undefined
}

export interface TrustOptions {
  /** The client folder, where known_servers is kept. */
  readonly dir: string
  /** A fingerprint given up front (--fingerprint): the only one accepted, and remembered. */
  readonly fingerprint?: string
  /** Tells the user, on stderr, that a server was trusted on first use. */
  readonly say: (line: string) => void
}

/**
 * Decides whether to talk to a TLS server: a pinned fingerprint must match; else a
 * certificate the system trusts for this host is fine; else the fingerprint must be the
 * one remembered for host:port in known_servers, and an unknown server is trusted on
 * first use and remembered (said on stderr). A changed fingerprint is refused.
 */
export const checkServerCertificate = (
  host: string,
  port: number,
  certificate: PeerCertificate,
  options: TrustOptions,
): Effect.Effect<void, UntrustedServer | StorageFailure> =>
  Effect.gen(function* () {
    const actual = certificate.fingerprint256
    const where = `${host}:${port}`
    const file = path.join(options.dir, KNOWN_SERVERS)
    const known = yield* Effect.tryPromise({
      try: () => fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error))),
      catch: (cause) => new StorageFailure({ operation: `read ${file}`, cause }),
    })
    const lines = known.split('\n').filter((line) => line.trim() !== '')
    const remembered = lines.map((line) => line.split(/\s+/)).find(([entry]) => entry === where)?.[1]
    const remember = (content: string) =>
      Effect.tryPromise({ try: () => content === '' ? Promise.resolve() : fs.writeFile(file, content, { mode: 0o600 }), catch: (cause) => new StorageFailure({ operation: `write ${file}`, cause }) })

    if (options.fingerprint !== undefined) {
      if (options.fingerprint !== actual) return yield* Effect.fail(new UntrustedServer({ host, port, expected: options.fingerprint, actual, pinned: true }))
      if (remembered !== actual) yield* remember(`${[...lines.filter((line) => !line.startsWith(`${where} `)), `${where} ${actual}`].join('\n')}\n`)
      return
    }
    if (certificate.authorized) return
    if (remembered === actual) return
    if (remembered !== undefined) return yield* Effect.fail(new UntrustedServer({ host, port, expected: remembered, actual, pinned: false }))
    yield* Effect.tryPromise({
      try: () => fs.appendFile(file, `${where} ${actual}\n`, { mode: 0o600 }),
      catch: (cause) => new StorageFailure({ operation: `write ${file}`, cause }),
    })
    options.say(`Trusting ${where} on first use: its certificate's SHA-256 fingerprint is ${actual} (remembered in ${file}).`)
  })
