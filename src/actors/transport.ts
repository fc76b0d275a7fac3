import { createRequire } from 'node:module'
import * as net from 'node:net'
import type * as TlsModule from 'node:tls'

/** node:tls, loaded only where TLS is used: about 5 ms of every clear-text client's start otherwise. */
const tlsModule = (): typeof TlsModule => createRequire(import.meta.url)('node:tls') as typeof TlsModule

/**
 * The one transport under both ends of TFTCP: plain TCP, or TLS on the same
 * socket API. Nothing above it (machines, codec, storage) knows which it is.
 * Both ends allow half-open connections: a peer that shuts down its sending side
 * still gets every reply.
 */

/** Loopback: the one place where clear text is the default. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

export interface ServerTls {
  readonly key: string
  readonly cert: string
}

/**
 * A server socket; `readyEvent` is the event that hands over each connection once it
 * is ready for TFTCP (`connection`, or `secureConnection` after the TLS handshake).
 */
export const createTransportServer = (options: {
  tls?: ServerTls
}): { server: net.Server; readyEvent: 'connection' | 'secureConnection'; accept: (socket: net.Socket) => AcceptedSocket } => {
  if (!options.tls) {
    // Paused on connect: nothing is read before `accept` has given the socket its read buffers.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true })
    return { server, readyEvent: 'connection', accept: (socket) => (onread) => readIntoUserBuffers(socket, onread) }
  }
  const server = tlsModule().createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    allowHalfOpen: true,
    minVersion: 'TLSv1.2',
    // A client that never finishes its handshake is dropped; no TFTCP byte is read in clear text.
    handshakeTimeout: 10_000,
  })
  server.on('secureConnection', (socket) => socket.setNoDelay(true))
  // Plaintext TFTCP on a TLS port fails the handshake: the socket is closed, nothing is served.
  server.on('tlsClientError', (_error, socket) => socket.destroy())
  return { server, readyEvent: 'secureConnection', accept: (socket) => (onread) => readTlsIntoUserBuffers(socket, onread) }
}

/** Reads into buffers the reader gives (`onread`): a buffer, or a function giving the next one; the callback may return false to stop reading. */
export interface UserBufferReads {
  readonly buffer: Buffer | (() => Buffer)
  readonly callback: (n: number, buffer: Buffer) => boolean
}

/** An accepted connection: a socket read through 'data' events, or one to be read into the reader's own buffers. */
export type AcceptedSocket = net.Socket | ((onread: UserBufferReads) => net.Socket)

/**
 * The accepted connection `accepted` (not yet reading), read into the reader's own
 * buffers from now on. Node offers `onread` only to sockets it connects, so the
 * accepted socket's handle moves to a new socket made with it; the accepted one is
 * destroyed when the new one closes, so the server's count of connections (which
 * `server.close` waits on) stays right. Without a handle (never seen) the accepted
 * socket is returned as it is, read through 'data' events by whoever asked.
 */
const readIntoUserBuffers = (accepted: net.Socket, onread: UserBufferReads): net.Socket => {
  const holder = accepted as unknown as { _handle: unknown }
  const handle = holder._handle
  if (!handle) return accepted
  holder._handle = null
  const socket = new net.Socket({ handle, allowHalfOpen: true, onread } as net.SocketConstructorOpts)
  socket.once('close', () => accepted.destroy())
  return socket
}

/** The symbols under which a net.Socket keeps its `onread` option (Node's `kBuffer`, `kBufferGen`, `kBufferCb`), if this Node has them. */
const onreadSymbols = (socket: net.Socket): { buffer: symbol; generator: symbol; callback: symbol } | undefined => {
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((symbol) => [symbol.description, symbol]))
  const buffer = byName.get('kBuffer')
  const generator = byName.get('kBufferGen')
  const callback = byName.get('kBufferCb')
  return buffer && generator && callback ? { buffer, generator, callback } : undefined
}

/**
 * An accepted TLS socket, its decrypted bytes delivered into the reader's own buffers
 * from now on. A TLS socket is read one record (16 KiB) at a time, and each record read
 * through 'data' events is a fresh buffer: collecting them cost a TLS upload more CPU
 * than decrypting it. Node offers `onread` only to TLS sockets it connects, so the
 * accepted one is given what `onread` would have set, as Node's own socket set-up does
 * (`useUserBuffer` on the handle, the reader's buffer and callback on the socket). On a
 * Node without those symbols the socket is returned as it is, read through 'data' events.
 * Bytes decrypted before this (with the handshake) are still delivered as 'data'.
 */
const readTlsIntoUserBuffers = (accepted: net.Socket, onread: UserBufferReads): net.Socket => {
  const handle = (accepted as unknown as { _handle?: { useUserBuffer?: (buffer: Buffer) => void } | null })._handle
  const symbols = onreadSymbols(accepted)
  if (!symbols || typeof handle?.useUserBuffer !== 'function') return accepted
  const generator = typeof onread.buffer === 'function' ? onread.buffer : null
  const first = generator ? generator() : (onread.buffer as Buffer)
  const fields = accepted as unknown as Record<symbol, unknown>
  fields[symbols.buffer] = first
  fields[symbols.generator] = generator
  fields[symbols.callback] = onread.callback
  handle.useUserBuffer(first)
  return accepted
}

/** What the client knows of the server's certificate once connected over TLS. */
export interface PeerCertificate {
  /** Trusted by the system's certificate authorities for this host name. */
  readonly authorized: boolean
  /** SHA-256 fingerprint, colon-separated hex as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string
}

export interface ClientTransportOptions {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  /** Receives incoming bytes in preallocated memory (no allocation per read). */
  readonly onread: UserBufferReads
}

/**
 * Connects; resolves once the connection is ready for TFTCP, with the server's
 * certificate when over TLS. The certificate is not trusted here: the caller
 * checks it (system trust, pinned fingerprint, or known servers) before sending anything.
 */
export const connectTransport = (options: ClientTransportOptions): Promise<{ socket: net.Socket; certificate?: PeerCertificate }> =>
  new Promise((resolve, reject) => {
    const socket = options.tls
      ? tlsModule().connect({
          host: options.host,
          port: options.port,
          servername: net.isIP(options.host) ? undefined : options.host,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
          // Node honours onread for TLS client sockets too; the type definitions lag behind.
          ...({ onread: options.onread } as object),
        })
      : net.connect({ host: options.host, port: options.port, noDelay: true, onread: options.onread })
    socket.once('error', reject)
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject)
      if (!options.tls) return resolve({ socket })
      const secure = socket as TlsModule.TLSSocket
      secure.setNoDelay(true)
      const peer = secure.getPeerX509Certificate()
      resolve({ socket, certificate: { authorized: secure.authorized, fingerprint256: peer?.fingerprint256 ?? '' } })
    })
  })
