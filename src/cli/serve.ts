import { setFlagsFromString } from 'node:v8'
import * as Effect from 'effect/Effect'
import { combineInspectors, inspectorHost, startStatelyInspector } from '../actors/inspector.js'
import { loadServerIdentity } from '../actors/server-identity.js'
import { startServer } from '../actors/server-runtime.js'
import { hashFileOnWorker } from '../actors/parallel-hash.js'
import { createTraceRecorder } from '../actors/trace-recorder.js'
import type { ServerLimits } from '../machines/server.js'
import { storageLayer } from '../storage/layers.js'
import type { StorageLocation } from '../storage/s3-location.js'
import { attachConsole } from './admin-console.js'
import { ANONYMOUS_PERMISSIONS, type AnonymousAccess } from './server-policy.js'

export interface ServeOptions {
  readonly host: string
  readonly port: number
  readonly storage: StorageLocation
  readonly s3Endpoint?: string
  readonly s3ListTtlMs?: number
  readonly keepPartialMs?: number
  readonly limits: ServerLimits
  /** Serve TLS: the certificate files given, or the self-signed one in the state folder. */
  readonly tls?: { readonly certFile?: string; readonly keyFile?: string }
  readonly anonymous: AnonymousAccess
  readonly stateDir: string
  readonly console: boolean
  readonly traceDir?: string
  readonly inspectPort?: number
}

/**
 * Lets V8's old generation grow to twice what survived the last full collection before
 * collecting again, instead of up to 4 times, its default on a machine with this much
 * memory. Each session that starts leaves garbage that outlives young collections while
 * thousands connect at once: 10,000 sessions left fresh servers at 338-418 MiB of RSS with
 * 125 MiB live, and at 274-307 MiB with this in nine tries of ten (389 in the tenth; the
 * bench's idle-sessions row: 355-360 MiB in full runs, 339-387 before). The cost is
 * more full collections under load: the server's CPU time for 4 rounds of 1,000 clients at
 * once was 7.6 and 8.2 s with it, 7.1 and 7.8 s without (1.5 times instead: 260-319 MiB,
 * but 7.7-9.2 s against 7.1-8.1 s). V8 reads the flag each time it sets the next limit,
 * so setting it now takes effect.
 */
const boundHeapGrowth = (): void => setFlagsFromString('--heap-growing-percent=100')

/**
 * `tor server start`: the server, its log on stdout, the admin console on stdin,
 * optional trace recording and inspector, and a clean stop on SIGINT/SIGTERM.
 * Resolves once the server has stopped and released everything.
 */
export const serve = async (options: ServeOptions, say: (line: string) => void): Promise<void> => {
  boundHeapGrowth()
  let print = say
  const recorder = options.traceDir ? createTraceRecorder(options.traceDir) : undefined
  const inspector = options.inspectPort === undefined ? undefined : await startStatelyInspector(options.inspectPort, inspectorHost(options.host))
  const identity = options.tls ? await Effect.runPromise(loadServerIdentity({ stateDir: options.stateDir, ...options.tls })) : undefined
  const server = await startServer({
    tls: identity,
    host: options.host,
    port: options.port,
    storage: storageLayer(options.storage, {
      stateDir: options.stateDir,
      s3Endpoint: options.s3Endpoint,
      s3ListTtlMs: options.s3ListTtlMs,
      keepPartialMs: options.keepPartialMs,
      log: (line) => print(`${new Date().toISOString()} ${line}`),
      hashFile: hashFileOnWorker,
    }),
    stateDir: options.stateDir,
    limits: { ...options.limits, session: { ...options.limits.session, anonymous: ANONYMOUS_PERMISSIONS[options.anonymous] } },
    log: (line) => print(`${new Date().toISOString()} ${line}`),
    answer: (line) => print(line),
    clear: () => process.stdout.write('\x1b[2J\x1b[3J\x1b[H'),
    inspect: combineInspectors(recorder?.inspect, inspector?.inspect),
  }).catch((error: unknown) => {
    inspector?.stop()
    throw error
  })

  // Before announcing the server: a signal right after the announcement must stop it cleanly.
  // The first signal drains (transfers in flight finish), the second stops at once.
  const stop = () => server.shutdown()
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  say(`Tor-Server listening on ${server.host}:${server.port}${identity ? ' (TLS only)' : ''}, serving ${server.location}`)
  if (identity) {
    say(`${identity.created ? 'Made a self-signed certificate' : 'TLS certificate'}: SHA-256 fingerprint ${identity.fingerprint256}`)
    say(`Clients check it with: tor client connect --host <this host> --port ${server.port} --fingerprint ${identity.fingerprint256}`)
  }
  say(`Anonymous access: ${options.anonymous === 'off' ? 'off (clients log in with auth)' : options.anonymous === 'read' ? 'read only (show, search, download)' : 'read and write'}`)
  if (recorder) say(`Recording one session trace per client in ${options.traceDir}`)
  if (inspector) say(`Inspector: open ${inspector.url} in a browser to watch the machines live`)
  if (options.console) {
    say('Admin console ready: type help for the commands.')
    const adminConsole = attachConsole(server, process.stdin, process.stdout, say, stop)
    print = (line) => adminConsole.print(line)
    void server.stopped.then(() => {
      adminConsole.close()
      print = say
    })
  }
  await server.stopped
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  recorder?.close()
  inspector?.stop()
  say('Tor-Server stopped.')
}
