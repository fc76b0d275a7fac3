import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { PeerClosed } from '../errors.js'
import type { LineResult } from '../machines/session-rules.js'
import { LineReader } from './line-reader.js'
import { acquireReadBuffers } from '../storage/chunks.js'
import { sendFromFd } from './send-from-fd.js'
import type { PayloadHash } from './parallel-hash.js'
import { sendFromStream } from './send-from-stream.js'
import { StagedPayload } from './staged-payload.js'
import type { AcceptedSocket } from './transport.js'

/**
 * Where every connection's reads land between payloads: each read is copied into its
 * connection's line decoder before the next read anywhere, so one buffer serves all.
 */
const LINE_READ_BUFFER = Buffer.allocUnsafeSlow(64 << 10)

/**
 * Unread input between payloads above which the socket is paused (unless a line may be longer).
 * What is read ahead of the next line is copied into the decoder, and a payload that follows it
 * is copied again into its stage: with 1 MiB here, the next entries of a pipelined upload (a
 * stores, store lines) went through the decoder while each one's file was being opened, a third
 * of a 100 x 1 MiB upload's server time in copies and garbage collection. One read's worth is
 * enough to find the next line.
 */
const READ_AHEAD_BYTES = 64 << 10

export interface ConnectionOptions {
  readonly maxLineBytes?: number
  /** Unread input between payloads above this pauses the socket (default READ_AHEAD_BYTES, or more than a longest line). */
  readonly maxBufferedBytes?: number
  /** Lines handed out per event-loop turn before yielding to other clients (default 64). */
  readonly linesPerTurn?: number
  /** How long a closing connection may take to flush its last replies before it is cut (default 30 s). */
  readonly closeLingerMs?: number
}

/**
 * The server's side of one TCP connection (opened with allowHalfOpen, so a client
 * that shuts down its sending side still gets every reply).
 *
 * Memory is bounded whatever the client does: unread input above `maxBufferedBytes`
 * (64 KiB) pauses the socket; no line is handed out while replies wait in the socket's
 * buffer (a client that does not read stops being read); listings wait for the
 * socket to drain between batches; payloads move through two buffers (download) or
 * a few stage buffers (upload, `StagedPayload`). A socket (plain TCP or TLS) is read into
 * those directly (`onread`), and between payloads into one line buffer all connections
 * share. Lines are handed out at most
 * `linesPerTurn` per event-loop turn, so one flooding client cannot starve the others.
 */
export class Connection {
  readonly socket: Socket
  private readonly lines: LineReader
  private payload: StagedPayload | undefined
  private turnLines = 0
  private turnScheduled = false
  private closing = false
  private tickCorked = false

  constructor(
    accepted: AcceptedSocket,
    private readonly options: ConnectionOptions = {},
  ) {
    this.lines = new LineReader(options.maxLineBytes)
    this.socket =
      typeof accepted === 'function' ? accepted({ buffer: () => this.nextReadBuffer(), callback: (n, buffer) => this.onRead(n, buffer) }) : accepted
    // Fires only for bytes not read into our buffers: TLS records decrypted with the handshake, or every read on a Node without `onread` internals.
    this.socket.on('data', (chunk: Buffer) => this.onBytes(chunk, false))
    const end = () => {
      this.lines.end()
      // A payload read whole is not cut by the end of input that follows it (a client that half-closes after its upload).
      if (this.payload && !this.payload.read) this.payload.abort(new PeerClosed({ during: 'upload' }))
      this.pump()
    }
    this.socket.on('end', end)
    this.socket.on('close', end)
    this.socket.on('error', end)
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '?'
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0
  }

  /** Bytes this connection holds in memory: unread input and unsent output. */
  get bufferedBytes(): number {
    return this.lines.decoder.bufferedBytes + this.socket.writableLength
  }

  /**
   * The next line (or undecodable line), once the replies already written have
   * left the socket's buffer. Rejects with PeerClosed once the client's input has
   * ended and every line before the end has been handed out.
   */
  async readLine(signal?: AbortSignal): Promise<LineResult> {
    if (this.socket.writableNeedDrain) await this.drained(signal)
    await this.fairTurn()
    const line = this.lines.readLine(signal)
    this.pump()
    return line
  }

  /**
   * Moves exactly `size` payload bytes from the socket into `sink` (bytes that came
   * with the size line first), pausing the socket while the sink is full. If the
   * sink fails (or there is none), the rest of the payload is read and dropped so
   * the next command parses, and the sink's error is the rejection.
   */
  receivePayload(size: number, sink: Writable | undefined, onBytes?: (received: number) => void, hash?: PayloadHash): Promise<void> {
    if (size === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const payload = new StagedPayload(size, sink, hash, {
        onBytes,
        resume: () => this.pump(),
        settle: (error) => {
          if (this.payload === payload) this.payload = undefined
          if (error === undefined) resolve()
          else reject(error)
          this.pump()
        },
      })
      this.payload = payload
      // Bytes that came with the size line are in the decoder already.
      const decoder = this.lines.decoder
      const early = Math.min(decoder.bufferedBytes, size)
      if (early > 0) {
        decoder.expectRaw(early)
        for (let frame = decoder.next(); frame?._tag === 'Raw'; frame = decoder.next()) {
          payload.copy(frame.bytes)
          if (frame.remaining === 0) break
        }
      }
      if (this.lines.ended && !payload.read) payload.abort(new PeerClosed({ during: 'upload' }))
      this.pump()
    })
  }

  /**
   * Sends exactly `length` payload bytes to the client, without ending the connection:
   * from an open descriptor at `start` (positional reads), or all of a stream.
   */
  sendPayload(
    source: { readonly fd: number; readonly start: number } | { readonly stream: Readable },
    length: number,
    signal?: AbortSignal,
    onBytes?: (sent: number) => void,
  ): Promise<void> {
    if (!('fd' in source)) return sendFromStream(this.socket, source.stream, length, { signal, onBytes })
    const read = acquireReadBuffers(length)
    return sendFromFd(this.socket, source.fd, length, { chunkBytes: read.buffers[0].length, buffers: read.buffers, start: source.start, signal, onBytes }).then(
      () => read.release(true),
      // A write may still hold a buffer: it is not reused.
      (error: unknown) => {
        read.release(false)
        throw error
      },
    )
  }

  /** Writes reply lines. Callers that may write a lot use `writeAndDrain`; reads wait for the buffer to drain. */
  write(lines: readonly string[]): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.corkForTick()
    this.socket.write(lines.length === 1 ? `${lines[0]}\n` : `${lines.join('\n')}\n`)
  }

  /** Writes of one synchronous run (a size line and a small file's bytes) leave in one system call. */
  private corkForTick(): void {
    if (this.tickCorked) return
    this.tickCorked = true
    this.socket.cork()
    process.nextTick(() => {
      this.tickCorked = false
      this.socket.uncork()
    })
  }

  /** Writes payload bytes already in memory (a small file, sent right after its size line); `written` once the socket is done with them. */
  writePayload(bytes: Uint8Array, written?: () => void): void {
    if (this.socket.destroyed || !this.socket.writable || bytes.length === 0) return written?.()
    this.corkForTick()
    this.socket.write(bytes, written && (() => written()))
  }

  /** Writes lines, then waits until the socket's buffer is below its high-water mark again. */
  async writeAndDrain(lines: readonly string[], signal?: AbortSignal): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) throw new PeerClosed({ during: 'reply' })
    this.write(lines)
    if (this.socket.writableNeedDrain) await this.drained(signal)
  }

  /** Resolves once the socket's buffer is below its high-water mark; rejects with PeerClosed once the connection is gone. */
  async flushed(signal?: AbortSignal): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) throw new PeerClosed({ during: 'reply' })
    if (this.socket.writableNeedDrain) await this.drained(signal)
  }

  /**
   * Ends the connection once everything written has been flushed; a client that
   * does not read its last replies within `closeLingerMs` is cut off.
   */
  close(): void {
    if (this.socket.destroyed) return
    this.closing = true
    this.socket.resume()
    this.socket.end()
    const linger = setTimeout(() => this.socket.destroy(), this.options.closeLingerMs ?? 30_000)
    linger.unref()
    this.socket.once('close', () => clearTimeout(linger))
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** Resolves once the socket's buffer has drained; rejects if the connection closes first or `signal` aborts. */
  private drained(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new PeerClosed({ during: 'reply' }))
      const done = () => {
        this.socket.off('drain', onDrain)
        this.socket.off('close', onClose)
        signal?.removeEventListener('abort', onAbort)
      }
      const onDrain = () => (done(), resolve())
      const onClose = () => (done(), reject(new PeerClosed({ during: 'reply' })))
      const onAbort = () => (done(), reject(signal?.reason))
      this.socket.on('drain', onDrain)
      this.socket.on('close', onClose)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * At most `linesPerTurn` lines per event-loop turn; replies of one turn leave in
   * one write (the socket is corked for the turn).
   */
  private async fairTurn(): Promise<void> {
    if (this.turnLines >= (this.options.linesPerTurn ?? 64)) await new Promise<void>((resolve) => setImmediate(resolve))
    if (!this.turnScheduled) {
      this.turnScheduled = true
      this.socket.cork()
      setImmediate(() => {
        this.turnScheduled = false
        this.turnLines = 0
        this.socket.uncork()
      })
    }
    this.turnLines++
  }

  /** Where the next read of a socket read into our buffers lands: the payload's stage while one is read, else the shared line buffer. */
  private nextReadBuffer(): Buffer {
    const payload = this.payload
    return payload && !payload.read ? payload.readBuffer() : LINE_READ_BUFFER
  }

  private onRead(n: number, buffer: Buffer): boolean {
    if (buffer === LINE_READ_BUFFER) this.onBytes(buffer.subarray(0, n), true)
    else if (!this.closing) {
      // A stage is handed out only while its payload is being read, and the read that ends it hands out the line buffer.
      this.payload?.onRead(n)
      this.pump()
    }
    return true
  }

  /** Bytes read anywhere but a stage: the payload's part goes to its stage, the rest to the line decoder (copied when `reused`). */
  private onBytes(chunk: Buffer, reused: boolean): void {
    // Once closing, input is read and dropped, so the client's end of input is seen and the socket closes.
    if (this.closing) return
    const payload = this.payload
    const taken = payload && !payload.read ? payload.copy(chunk) : 0
    if (taken < chunk.length) {
      const rest = chunk.subarray(taken)
      this.lines.decoder.push(reused ? Buffer.from(rest) : rest)
    }
    this.pump()
  }

  private pump(): void {
    const payload = this.payload
    if (payload && !payload.read) {
      if (payload.waiting) this.socket.pause()
      else if (this.socket.isPaused() && !this.lines.ended) this.socket.resume()
      return
    }
    this.lines.pump()
    const limit = this.options.maxBufferedBytes ?? Math.max(READ_AHEAD_BYTES, this.lines.decoder.maxLineBytes + 1)
    if (this.lines.decoder.bufferedBytes > limit) this.socket.pause()
    else if (this.socket.isPaused() && !this.lines.ended) this.socket.resume()
  }
}
