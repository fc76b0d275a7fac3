import { PeerClosed } from '../errors.js'
import type { LineResult } from '../machines/session-rules.js'
import { FrameDecoder, type Frame } from '../protocol/index.js'

type Waiter = { resolve: (line: LineResult) => void; reject: (error: unknown) => void }

/** Ended by the peer without a reason of our own: a PeerClosed is made only for a read it rejects (an error's stack costs about 12 µs, and every connection ends). */
const PEER_GONE = Symbol('peer gone')

/**
 * Hands out decoded lines one at a time, when a machine asks for the next one,
 * so pipelined lines wait their turn in the decoder. Both ends of a TFTCP
 * connection read their control lines through one of these.
 */
export class LineReader {
  readonly decoder: FrameDecoder
  private waiter: Waiter | undefined
  private endedWith: unknown

  constructor(maxLineBytes?: number) {
    this.decoder = new FrameDecoder({ maxLineBytes })
  }

  get ended(): boolean {
    return this.endedWith !== undefined
  }

  /** The peer is gone: a pending or later read rejects (with `error`, PeerClosed by default) once the buffered lines are used up. */
  end(error?: unknown): void {
    this.endedWith ??= error ?? PEER_GONE
  }

  readLine(signal?: AbortSignal): Promise<LineResult> {
    return new Promise((resolve, reject) => {
      if (this.waiter) return reject(new Error('one read at a time'))
      const abort = () => {
        this.waiter = undefined
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', abort, { once: true })
      const settle = () => signal?.removeEventListener('abort', abort)
      this.waiter = {
        resolve: (line) => (settle(), resolve(line)),
        reject: (error) => (settle(), reject(error)),
      }
      this.pump()
    })
  }

  /** Gives the next buffered line to a pending read, if both exist. Call after pushing bytes. */
  pump(): void {
    if (!this.waiter || this.decoder.rawBytesRemaining > 0) return
    const frame = this.decoder.next()
    const waiter = this.waiter
    if (frame) {
      this.waiter = undefined
      waiter.resolve(toLineResult(frame))
    } else if (this.endedWith !== undefined) {
      this.waiter = undefined
      waiter.reject(this.endedWith === PEER_GONE ? new PeerClosed({}) : this.endedWith)
    }
  }
}

const toLineResult = (frame: Frame): LineResult =>
  frame._tag === 'Line'
    ? { _tag: 'Line', text: frame.text }
    : frame._tag === 'Invalid'
      ? { _tag: 'Invalid', code: frame.error.code, message: frame.error.message }
      : { _tag: 'Invalid', code: 'TOR_ERR_PROTOCOL', message: 'unexpected payload bytes' }
