import type { Socket } from 'node:net'
import type { Writable } from 'node:stream'
import { PeerClosed } from '../errors.js'
import type { LineResult } from '../machines/session-rules.js'
import { LineReader } from './line-reader.js'
import { sendFromFd } from './send-from-fd.js'

type PayloadTarget = {
  sink: Writable | undefined // undefined: drop the bytes (the sink already failed)
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * The server's side of one TCP connection. Lines wait in the reader until the
 * session machine asks for them; while more than `maxBufferedBytes` wait unread,
 * the socket is paused, so a client that floods costs bounded memory.
 */
export class Connection {
  private readonly lines: LineReader
  private payload: PayloadTarget | undefined
  private sinkBlocked = false

  constructor(
    readonly socket: Socket,
    private readonly options: { maxLineBytes?: number; maxBufferedBytes?: number } = {},
  ) {
    this.lines = new LineReader(options.maxLineBytes)
    socket.on('data', (chunk: Buffer) => {
      this.lines.decoder.push(chunk)
      this.pump()
    })
    const end = () => {
      this.lines.end()
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
    const line = this.lines.readLine(signal)
    this.pump()
    return line
  }

  /**
   * Moves exactly `size` payload bytes from the socket into `sink` (bytes that came
   * with the size line first), pausing the socket while the sink is full. If the
   * sink fails, the rest of the payload is read and dropped so the next command
   * parses, and the sink's error is the rejection.
   */
  receivePayload(size: number, sink: Writable): Promise<void> {
    if (size === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      let sinkError: unknown
      const onSinkError = (error: unknown) => {
        sinkError ??= error
        if (this.payload) this.payload.sink = undefined
        this.unblock()
      }
      sink.on('error', onSinkError)
      const settle = () => sink.off('error', onSinkError)
      this.lines.decoder.expectRaw(size)
      this.payload = {
        sink,
        resolve: () => (settle(), sinkError ? reject(sinkError) : resolve()),
        reject: (error) => (settle(), reject(error)),
      }
      this.pump()
    })
  }

  /** Sends `size` bytes of the open file `fd` to the client, without ending the connection. */
  sendPayload(fd: number, size: number, chunkBytes: number, signal?: AbortSignal): Promise<void> {
    return sendFromFd(this.socket, fd, size, { chunkBytes, signal })
  }

  write(lines: readonly string[]): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.socket.write(lines.length === 1 ? `${lines[0]}\n` : `${lines.join('\n')}\n`)
  }

  /** Ends the connection once everything written has been flushed. */
  close(): void {
    this.socket.end()
    this.socket.destroySoon()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private pump(): void {
    if (this.payload) return this.pumpPayload()
    this.lines.pump()
    const limit = this.options.maxBufferedBytes ?? 1 << 20
    if (this.lines.decoder.bufferedBytes > limit) this.socket.pause()
    else if (this.socket.isPaused() && !this.lines.ended) this.socket.resume()
  }

  private pumpPayload(): void {
    const target = this.payload!
    if (this.sinkBlocked) return
    const decoder = this.lines.decoder
    for (let frame = decoder.next(); frame?._tag === 'Raw'; frame = decoder.next()) {
      if (target.sink && !target.sink.write(frame.bytes) && frame.remaining > 0) this.block(target.sink)
      if (frame.remaining === 0) {
        this.payload = undefined
        target.resolve()
        return this.pump()
      }
      if (this.sinkBlocked) return
    }
    if (this.lines.ended) {
      this.payload = undefined
      target.reject(new PeerClosed({ during: 'upload' }))
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
