// fs.promises, not node:fs/promises: it loads on first use (about 1.2 ms of every client command's start otherwise).
import { promises as fs, writeSync } from 'node:fs'
import type * as net from 'node:net'
import * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import { ConnectionFailed, PeerClosed, StorageFailure, TransferIncomplete, type UntrustedServer } from '../errors.js'
import type { LineResult } from '../machines/session-rules.js'
import { takeBuffer } from '../storage/chunks.js'
import { LineReader } from './line-reader.js'
import { sendFromFd } from './send-from-fd.js'
import type { PayloadHash } from './parallel-hash.js'
import { checkServerCertificate, type TrustOptions } from './server-trust.js'
import { connectTransport } from './transport.js'

export const RECEIVE_BUFFER_BYTES = 1 << 20
/**
 * Unread input above this, outside a payload, stops the socket being read until lines
 * are taken: a server that sends lines nobody asked for (at an idle prompt, say) is held
 * in its own socket, not in this process's memory.
 */
export const MAX_UNREAD_BYTES = 2 << 20
/** Gathered payload is written out when less than this is left for the next read. */
const MIN_READ_BYTES = 64 << 10
/**
 * A read with no payload expected takes at most this: it holds the next answer's lines, and
 * whatever payload follows them goes through the line decoder (a copy) until the file is open.
 */
const LINE_READ_BYTES = 64 << 10
const SEND_CHUNK_BYTES = 1 << 20

type FileSink = {
  readonly fd: number
  readonly hash: PayloadHash | undefined
  remaining: number
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * The client's side of a TFTCP connection. The socket reads into one
 * preallocated buffer (`onread`): control lines are copied into the line reader,
 * and download payload bytes go from that buffer straight to the file with a
 * synchronous write, so the data path has no per-chunk allocation or promise.
 */
export class ClientConnection {
  readonly lines = new LineReader()
  private sink: FileSink | undefined
  private payloadBytes = 0
  /** Every read lands here; payload bytes gather at its start until they are written out. */
  private receive = takeBuffer(RECEIVE_BUFFER_BYTES)
  /** Payload bytes gathered in `receive`, not yet written to the file. */
  private gathered = 0
  private socket!: net.Socket
  /** True over TLS. */
  encrypted = false
  private failure: unknown
  /** Reading stopped because MAX_UNREAD_BYTES wait in the decoder. */
  private readingPaused = false
  private endedListeners: Array<() => void> = []
  private decoded = 0
  /** When bytes last moved in either direction (for the reply timeout). */
  lastActivity = Date.now()

  /**
   * Connects (plain TCP, or TLS whose certificate must pass `trust` before anything is
   * sent), in the current scope: the socket is destroyed when the scope closes.
   */
  static open(options: {
    readonly host: string
    readonly port: number
    readonly tls: boolean
    readonly trust: TrustOptions
  }): Effect.Effect<ClientConnection, ConnectionFailed | UntrustedServer | StorageFailure, Scope.Scope> {
    const { host, port } = options
    return Effect.acquireRelease(
      Effect.gen(function* () {
        const connection = new ClientConnection()
        const { socket, certificate } = yield* Effect.tryPromise({
          try: () =>
            connectTransport({
              host,
              port,
              tls: options.tls,
              onread: { buffer: () => connection.nextReadBuffer(), callback: (n) => connection.onRead(n) },
            }),
          catch: (cause) => new ConnectionFailed({ host, port, cause }),
        })
        connection.socket = socket
        connection.encrypted = certificate !== undefined
        socket.on('error', () => connection.onSocketEnded())
        socket.on('end', () => connection.onSocketEnded())
        socket.on('close', () => connection.onSocketEnded())
        if (certificate) {
          yield* checkServerCertificate(host, port, certificate, options.trust).pipe(Effect.onError(() => Effect.sync(() => socket.destroy())))
        }
        return connection
      }),
      (connection) => Effect.sync(() => connection.socket.destroy()),
    )
  }

  /** Payload bytes moved by the transfer in progress (for progress bars). */
  get transferred(): number {
    return this.payloadBytes
  }

  readLine(signal?: AbortSignal): Promise<LineResult> {
    return this.lines.readLine(signal).finally(() => this.resumeIfRoom())
  }

  /** Bytes read and not taken yet (lines, or payload bytes that came before their size line was read). */
  get bufferedBytes(): number {
    return this.lines.decoder.bufferedBytes
  }

  /** Bytes that went through the line decoder (a copy each): lines, and payload bytes that came before their file was open. */
  get decodedBytes(): number {
    return this.decoded
  }

  /** True while reading is stopped because too much unread input waits (MAX_UNREAD_BYTES). */
  get paused(): boolean {
    return this.readingPaused
  }

  private resumeIfRoom(): void {
    if (!this.readingPaused || this.lines.decoder.bufferedBytes > MAX_UNREAD_BYTES || this.socket.destroyed) return
    this.readingPaused = false
    this.socket.resume()
  }

  /** True once the server has closed the connection (or it broke). */
  get ended(): boolean {
    return this.lines.ended
  }

  /** Calls `listener` once when the connection ends. */
  onEnded(listener: () => void): void {
    if (this.lines.ended) listener()
    else this.endedListeners.push(listener)
  }

  /** The last `error ...` line the server sent that nobody asked for (read when the connection ended while idle). */
  takeUnsolicitedError(): string | undefined {
    let last: string | undefined
    for (let frame = this.lines.decoder.next(); frame; frame = this.lines.decoder.next()) {
      if (frame._tag === 'Line' && frame.text.startsWith('error ')) last = frame.text.slice('error '.length)
      if (frame._tag === 'Raw') break
    }
    return last
  }

  /** Ends the connection now: every pending and later operation fails with `error` (a timeout, a cancel). */
  fail(error: unknown): void {
    this.failure ??= error
    this.socket.destroy()
    this.onSocketEnded()
  }

  write(line: string): void {
    if (!this.socket.destroyed) this.socket.write(`${line}\n`)
  }

  /** Writes a line and the payload bytes that follow it (a store) in one system call; `written` once the socket is done with the bytes. */
  writeWithPayload(line: string, bytes: Uint8Array, written?: () => void): void {
    if (this.socket.destroyed || bytes.length === 0) {
      if (!this.socket.destroyed) this.socket.write(`${line}\n`)
      return written?.()
    }
    this.socket.cork()
    this.socket.write(`${line}\n`)
    this.socket.write(bytes, written && (() => written()))
    process.nextTick(() => this.socket.uncork())
  }

  /** Resolves once the socket's buffer is below its high-water mark; rejects once the connection is gone (with why). */
  flushed(): Promise<void> {
    if (this.socket.destroyed) return Promise.reject(this.failure ?? new PeerClosed({}))
    if (!this.socket.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const done = () => {
        this.socket.off('drain', onDrain)
        this.socket.off('close', onClose)
      }
      const onDrain = () => (done(), resolve())
      const onClose = () => (done(), reject(this.failure ?? new PeerClosed({})))
      this.socket.on('drain', onDrain)
      this.socket.on('close', onClose)
    })
  }

  /** Ends the connection once what was written has gone out (the server's reply, if any, is not waited for). */
  close(): void {
    this.socket.end()
    this.socket.destroySoon()
  }

  /** Resolves once the socket is closed (after `close`: once what was written has gone out). */
  whenClosed(): Promise<void> {
    return this.socket.closed ? Promise.resolve() : new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  /** Writes the next `size` payload bytes into the open file `fd` (and into `hash`, when given). */
  receiveToFile(fd: number, size: number, hash?: PayloadHash): Promise<void> {
    this.payloadBytes = 0
    return new Promise((resolve, reject) => {
      // Bytes that arrived together with the size line are already in the decoder.
      const decoder = this.lines.decoder
      const early = Math.min(decoder.bufferedBytes, size)
      try {
        if (early > 0) {
          decoder.expectRaw(early)
          for (let frame = decoder.next(); frame?._tag === 'Raw'; frame = decoder.next()) {
            hash?.update(frame.bytes)
            writeAll(fd, frame.bytes, 0, frame.bytes.length)
            this.payloadBytes += frame.bytes.length
            if (frame.remaining === 0) break
          }
        }
      } catch (cause) {
        return reject(new StorageFailure({ operation: 'write the download', cause }))
      }
      if (early === size) {
        this.resumeIfRoom()
        return resolve()
      }
      if (this.lines.ended) return reject(new TransferIncomplete({ expected: size, received: this.payloadBytes }))
      this.sink = { fd, hash, remaining: size - early, resolve, reject }
      this.resumeIfRoom()
    })
  }

  /** Sends exactly `size` bytes of the file at `path`, without ending the connection (each chunk into `hash`, when given). */
  async sendFromFile(path: string, size: number, signal?: AbortSignal, hash?: PayloadHash, start = 0): Promise<void> {
    this.payloadBytes = 0
    const handle = await fs.open(path, 'r').catch((cause) => {
      throw new StorageFailure({ operation: `open ${path}`, cause })
    })
    try {
      await sendFromFd(this.socket, handle.fd, size, {
        chunkBytes: SEND_CHUNK_BYTES,
        start,
        signal,
        afterWrite: hash && ((chunk) => hash.own(chunk)),
        beforeRead: hash && (() => (hash.saturated ? hash.whenDrained() : undefined)),
        onBytes: (sent) => {
          this.payloadBytes = sent
          this.lastActivity = Date.now()
        },
      })
    } catch (error) {
      // Part of the payload may be on the wire: the connection cannot be used any more.
      this.socket.destroy()
      throw this.failure ?? error
    } finally {
      await handle.close()
    }
  }

  /**
   * Where the next read lands: after the payload bytes gathered so far, so that
   * small reads (TLS hands over one 16 KiB record at a time) reach the file in
   * large writes, not one system call per record. A read never goes past the
   * payload's end: the bytes after it (the next file's, in a gets) would have to be
   * copied out before the buffer is written or handed to the hash worker.
   */
  private nextReadBuffer(): Buffer {
    const room = this.sink ? Math.min(this.receive.length - this.gathered, this.sink.remaining) : LINE_READ_BYTES
    return this.receive.subarray(this.gathered, this.gathered + room)
  }

  private onRead(n: number): boolean {
    this.lastActivity = Date.now()
    const start = this.gathered
    let offset = 0
    const sink = this.sink
    // Bytes past the payload (lines, the next file's), copied out first: `receive` may be handed over below.
    const rest = (from: number) => (from < n ? Buffer.from(this.receive.subarray(start + from, start + n)) : undefined)
    let after: Buffer | undefined
    if (sink) {
      const k = Math.min(n, sink.remaining)
      sink.remaining -= k
      this.payloadBytes += k
      this.gathered += k
      offset = k
      after = rest(offset)
      const done = sink.remaining === 0
      if (done || this.receive.length - this.gathered < MIN_READ_BYTES) {
        try {
          writeAll(sink.fd, this.receive, 0, this.gathered)
        } catch (cause) {
          this.sink = undefined
          this.gathered = 0
          this.socket.destroy()
          sink.reject(new StorageFailure({ operation: 'write the download', cause }))
          return false
        }
        this.hashGathered(sink.hash)
      }
      if (done) {
        this.sink = undefined
        sink.resolve()
      } else if (sink.hash?.saturated) {
        // The hash worker is behind: stop reading (the server waits in its socket) until it catches up.
        void sink.hash.whenDrained().then(() => this.socket.destroyed || this.socket.resume())
        return false
      }
    } else after = rest(0)
    if (after) {
      this.decoded += after.length
      this.lines.decoder.push(after)
      this.lines.pump()
      if (this.sink === undefined && this.lines.decoder.bufferedBytes > MAX_UNREAD_BYTES) {
        this.readingPaused = true
        return false
      }
    }
    return true
  }

  /**
   * The gathered payload bytes (written out already) into the hash. A hash on the worker takes the
   * receive buffer itself, and the next reads land in another from the pool (the worker gives it
   * back there): no copy of each byte on this thread, which also receives and writes them.
   */
  private hashGathered(hash: PayloadHash | undefined): void {
    const gathered = this.receive.subarray(0, this.gathered)
    this.gathered = 0
    if (hash?.takesBuffers) {
      hash.own(gathered)
      this.receive = takeBuffer(RECEIVE_BUFFER_BYTES)
    } else hash?.update(gathered)
  }

  private onSocketEnded(): void {
    this.lines.end(this.failure)
    this.lines.pump()
    const sink = this.sink
    if (sink) {
      this.sink = undefined
      // What arrived before the cut goes to the file too: a resumable download keeps every byte it got.
      try {
        if (this.gathered > 0) {
          sink.hash?.update(this.receive.subarray(0, this.gathered))
          writeAll(sink.fd, this.receive, 0, this.gathered)
        }
      } catch {
        // The transfer failed anyway; the part is shorter, and a resume asks for what is missing.
      }
      this.gathered = 0
      sink.reject(this.failure ?? new TransferIncomplete({ expected: this.payloadBytes + sink.remaining, received: this.payloadBytes }))
    }
    for (const listener of this.endedListeners.splice(0)) listener()
  }
}

const writeAll = (fd: number, buffer: Uint8Array, offset: number, length: number): void => {
  while (length > 0) {
    const written = writeSync(fd, buffer, offset, length)
    offset += written
    length -= written
  }
}
