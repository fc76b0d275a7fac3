import { X509Certificate } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { StorageFailure } from '../errors.js'
import type { ServerTls } from './transport.js'

export interface ServerIdentity extends ServerTls {
  readonly fingerprint256: string
  /** True when the certificate was made just now (first start with --tls). */
  readonly created: boolean
}

const KEY_FILE = 'tls-key.pem'
const CERT_FILE = 'tls-cert.pem'

const failure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })

/**
 * The server's TLS identity: the given key and certificate files, or a self-signed
 * certificate kept in the state folder (EC P-256, SHA-256), made on first start and
 * reused after, so its fingerprint stays what clients pinned. The key is written 0600.
 */
export const loadServerIdentity = (options: { stateDir: string; keyFile?: string; certFile?: string }): Effect.Effect<ServerIdentity, StorageFailure> =>
  Effect.gen(function* () {
    const keyPath = options.keyFile ?? path.join(options.stateDir, KEY_FILE)
    const certPath = options.certFile ?? path.join(options.stateDir, CERT_FILE)
    const read = (file: string) => Effect.tryPromise({ try: () => readFile(file, 'utf8'), catch: failure(`read ${file}`) })
    const existing = yield* Effect.all([read(keyPath), read(certPath)]).pipe(
      Effect.map(([key, cert]) => ({ key, cert })),
      Effect.catchAll((error) => (options.keyFile || options.certFile ? Effect.fail(error) : Effect.succeed(undefined))),
    )
    const pems = existing ?? (yield* generate(options.stateDir))
    const fingerprint256 = yield* Effect.try({ try: () => new X509Certificate(pems.cert).fingerprint256, catch: failure(`parse ${certPath}`) })
    return { ...pems, fingerprint256, created: existing === undefined }
  })

const generate = (stateDir: string) =>
  Effect.tryPromise({
    try: async () => {
      const { generate: makeCertificate } = await import('selfsigned')
      const pems = await makeCertificate([{ name: 'commonName', value: 'tor-server' }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notAfterDate: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
      })
      await mkdir(stateDir, { recursive: true, mode: 0o700 })
      // Written aside and renamed: a crash never leaves half a key.
      await writeFile(path.join(stateDir, `${KEY_FILE}.tmp`), pems.private, { mode: 0o600 })
      await chmod(path.join(stateDir, `${KEY_FILE}.tmp`), 0o600)
      await writeFile(path.join(stateDir, `${CERT_FILE}.tmp`), pems.cert, { mode: 0o644 })
      await rename(path.join(stateDir, `${KEY_FILE}.tmp`), path.join(stateDir, KEY_FILE))
      await rename(path.join(stateDir, `${CERT_FILE}.tmp`), path.join(stateDir, CERT_FILE))
      return { key: pems.private, cert: pems.cert }
    },
    catch: failure(`create a TLS certificate in ${stateDir}`),
  })
