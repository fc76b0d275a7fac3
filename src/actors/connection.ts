import type { Socket } from 'node:net'
import { pipeline } from 'node:stream/promises'
import type { Readable, Writable } from 'node:stream'
import { PeerClosed } from '../errors.js'
import { FrameDecoder, type Frame } from '../protocol/index.js'
import type { LineResult } from '../machines/session-rules.js'

type Waiter = { resolve: (line: LineResult) => void; reject: (error: unknown) => void }

type RawTarget = {
  sink: Writable | undefined // undefined: drop the bytes (the upload already failed)
  resolve: () => void
  reject: (error: unknown) => void
  onBytes?: (n: number) => void
}

/**
 * The server's side of one TCP connection: lines are handed out one at a time,
 * when the session machine asks for the next one, so pipelined commands wait their
 * turn in the decoder. While more than `maxBufferedBytes` wait unread, the socket
 * is paused: a client that floods costs bounded memory.
 */
export class Connection {
  private readonly decoder: FrameDecoder
  private waiter: Waiter | undefined
  private raw: RawTarget | undefined
  private ended: PeerClosed | undefined
  private sinkBlocked = false

  constructor(
    readonly socket: Socket,
    private readonly options: { maxLineBytes?: number; maxBufferedBytes?: number } = {},
  ) {
    this.decoder = new FrameDecoder({ maxLineBytes: options.maxLineBytes })
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk)
      this.pump()
    })
    const end = () => {
      if (this.ended) return
      this.ended = new PeerClosed({})
      this.pump()
    }
    socket.on('end', end)
    socket.on('close', end)
    socket.on('error', end)
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '?'
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0
  }

  /** The next line (or undecodable line); rejects with PeerClosed once the client is gone. */
  readLine(signal?: AbortSignal): Promise<LineResult> {
    return new Promise((resolve, reject) => {
      if (this.waiter || this.raw) return reject(new Error('one read at a time'))
      const abort = () => {
        this.waiter = undefined
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', abort, { once: true })
      this.waiter = {
        resolve: (line) => {
          signal?.removeEventListener('abort', abort)
          resolve(line)
        },
        reject: (error) => {
          signal?.removeEventListener('abort', abort)
          reject(error)
        },
      }
      this.pump()
    })
  }

  /**
   * Moves exactly `size` payload bytes from the socket into `sink` (bytes that came
   * with the size line first), pausing the socket while the sink is full. If the
   * sink fails, the rest of the payload is read and dropped so the next command
   * parses, and the sink's error is the rejection.
   */
  receivePayload(size: number, sink: Writable, onBytes?: (n: number) => void): Promise<void> {
    if (size === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      let sinkError: unknown
      const onSinkError = (error: unknown) => {
        sinkError ??= error
        if (this.raw) this.raw.sink = undefined
        this.unblock()
      }
      sink.on('error', onSinkError)
      this.decoder.expectRaw(size)
      this.raw = {
        sink,
        onBytes,
        resolve: () => {
          sink.off('error', onSinkError)
          if (sinkError) reject(sinkError)
          else resolve()
        },
        reject: (error) => {
          sink.off('error', onSinkError)
          reject(error)
        },
      }
      this.pump()
    })
  }

  /** Sends `source` to the client without ending the connection. */
  sendPayload(source: Readable, signal?: AbortSignal): Promise<void> {
    return pipeline(source, this.socket, { end: false, signal })
  }

  write(lines: readonly string[]): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.socket.write(lines.length === 1 ? `${lines[0]}\n` : `${lines.join('\n')}\n`)
  }

  /** Ends the connection once everything written has been flushed. */
  close(): void {
    if (!this.socket.destroyed) this.socket.end()
    this.socket.destroySoon()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private pump(): void {
    if (this.raw) this.pumpRaw()
    if (!this.raw && this.waiter) {
      const frame = this.decoder.next()
      if (frame) this.deliver(frame)
      else if (this.ended) {
        const waiter = this.waiter
        this.waiter = undefined
        waiter.reject(this.ended)
      }
    }
    if (this.raw) return
    const limit = this.options.maxBufferedBytes ?? 1 << 20
    if (this.decoder.bufferedBytes > limit) this.socket.pause()
    else if (this.socket.isPaused() && !this.ended) this.socket.resume()
  }

  private deliver(frame: Frame): void {
    const waiter = this.waiter!
    this.waiter = undefined
    if (frame._tag === 'Line') waiter.resolve({ _tag: 'Line', text: frame.text })
    else if (frame._tag === 'Invalid') {
      waiter.resolve({ _tag: 'Invalid', code: frame.error.code, message: frame.error.message })
    }
  }

  private pumpRaw(): void {
    const raw = this.raw!
    if (this.sinkBlocked) return
    for (let frame = this.decoder.next(); frame; frame = this.decoder.next()) {
      if (frame._tag !== 'Raw') break
      raw.onBytes?.(frame.bytes.length)
      if (raw.sink && !raw.sink.write(frame.bytes)) {
        if (frame.remaining > 0) this.block(raw.sink)
      }
      if (frame.remaining === 0) {
        this.raw = undefined
        raw.resolve()
        return
      }
      if (this.sinkBlocked) return
    }
    if (this.ended) {
      this.raw = undefined
      raw.reject(new PeerClosed({ during: 'upload' }))
    } else if (this.socket.isPaused()) this.socket.resume()
  }

  private block(sink: Writable): void {
    this.sinkBlocked = true
    this.socket.pause()
    sink.once('drain', () => this.unblock())
  }

  private unblock(): void {
    if (!this.sinkBlocked) return
    this.sinkBlocked = false
    this.pump()
  }
}
