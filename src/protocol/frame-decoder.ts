import { InvalidUtf8, LineTooLong } from '../errors.js'

/**
 * Incremental TFTCP decoder: bytes in, frames out. Pure: it never touches a socket.
 *
 * Line mode (the default):
 *
 *     +---------------------------+------+------+
 *     | UTF-8 text, no LF         | [CR] |  LF  |     => Line { text }   (the CR is dropped)
 *     +---------------------------+------+------+
 *       at most maxLineBytes bytes
 *
 * Raw mode, entered with `expectRaw(size)` by whoever knows a payload follows
 * (the size line has just been read):
 *
 *     +----------------------------------------+
 *     | exactly `size` bytes, any values        |  => Raw { bytes, remaining } ... then line mode again
 *     +----------------------------------------+
 *
 * Bytes that arrive in the same chunk as the size line stay buffered, so they are
 * the first Raw frames; bytes after the payload are the next lines. A line longer
 * than the limit yields one `LineTooLong` error frame and is discarded up to its LF,
 * so memory stays bounded by the limit plus one chunk. Raw frames are views of the
 * pushed chunks (no copy): a caller that reuses its buffer must copy before `push`.
 */
export type Frame =
  | { readonly _tag: 'Line'; readonly text: string }
  | { readonly _tag: 'Raw'; readonly bytes: Uint8Array; readonly remaining: number }
  | { readonly _tag: 'Invalid'; readonly error: LineTooLong | InvalidUtf8 }

export const DEFAULT_MAX_LINE_BYTES = 4096

const LF = 0x0a
const CR = 0x0d

export class FrameDecoder {
  readonly maxLineBytes: number
  private chunks: Uint8Array[] = []
  private head = 0 // consumed bytes of chunks[0]
  private buffered = 0
  private scanned = 0 // bytes known to hold no LF, from the start of the buffer
  private rawRemaining = 0
  private discarding = false
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true })

  constructor(options: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered
  }

  /** Payload bytes still expected in raw mode (0 in line mode). */
  get rawBytesRemaining(): number {
    return this.rawRemaining
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
  }

  /** The next `size` bytes are payload, not lines. */
  expectRaw(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad raw size ${size}`)
    if (this.rawRemaining > 0) throw new Error('already in raw mode')
    this.rawRemaining = size
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  next(): Frame | undefined {
    if (this.rawRemaining > 0) return this.nextRaw()
    for (;;) {
      const lf = this.findLineFeed()
      if (lf < 0) {
        if (!this.discarding && this.buffered > this.maxLineBytes + 1) {
          this.discarding = true
          this.drop(this.buffered)
          return { _tag: 'Invalid', error: new LineTooLong({ limit: this.maxLineBytes }) }
        }
        if (this.discarding) this.drop(this.buffered)
        return undefined
      }
      if (this.discarding) {
        this.drop(lf + 1)
        this.discarding = false
        continue
      }
      const line = this.take(lf)
      this.drop(1)
      const length = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length
      if (length > this.maxLineBytes) {
        return { _tag: 'Invalid', error: new LineTooLong({ limit: this.maxLineBytes }) }
      }
      try {
        return { _tag: 'Line', text: this.utf8.decode(line.subarray(0, length)) }
      } catch {
        return { _tag: 'Invalid', error: new InvalidUtf8() }
      }
    }
  }

  private nextRaw(): Frame | undefined {
    if (this.buffered === 0) return undefined
    const first = this.chunks[0]!
    const available = first.length - this.head
    const n = Math.min(available, this.rawRemaining)
    const bytes = first.subarray(this.head, this.head + n)
    this.drop(n)
    this.rawRemaining -= n
    return { _tag: 'Raw', bytes, remaining: this.rawRemaining }
  }

  /** Offset of the first LF from the start of the buffer, or -1. */
  private findLineFeed(): number {
    let base = 0
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!
      const start = i === 0 ? this.head : 0
      const length = chunk.length - start
      if (base + length > this.scanned) {
        const from = start + Math.max(0, this.scanned - base)
        const at = chunk.indexOf(LF, from)
        if (at >= 0) return base + at - start
      }
      base += length
    }
    this.scanned = base
    return -1
  }

  /** Returns and consumes the first n buffered bytes (a view when they sit in one chunk). */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n)
      this.drop(n)
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const k = Math.min(n - filled, chunk.length - this.head)
      out.set(chunk.subarray(this.head, this.head + k), filled)
      filled += k
      this.drop(k)
    }
    return out
  }

  private drop(n: number): void {
    this.buffered -= n
    this.scanned = Math.max(0, this.scanned - n)
    while (n > 0) {
      const chunk = this.chunks[0]!
      const k = Math.min(n, chunk.length - this.head)
      this.head += k
      n -= k
      if (this.head === chunk.length) {
        this.chunks.shift()
        this.head = 0
      }
    }
  }
}
