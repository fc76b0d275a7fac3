import type { Writable } from 'node:stream'
import { acquireUploadChunk, giveBackBuffer, takeBuffer, UPLOAD_BUFFERS_EACH } from '../storage/chunks.js'
import type { PayloadHash } from './parallel-hash.js'

export interface StagedPayloadEvents {
  /** Payload bytes read so far (for progress and the stall timer). */
  readonly onBytes?: (received: number) => void
  /** The payload had asked the reader to stop (`waiting`) and may be read again. */
  readonly resume: () => void
  /** Every byte was read and the sink is done with them (or the sink failed: its error), or `abort` was called. Called once. */
  readonly settle: (error?: unknown) => void
}

/**
 * One incoming payload of `size` bytes on its way to a sink and a hash, through
 * stage buffers. Socket reads land straight in the free part of the current stage
 * (`readBuffer`, then `onRead`); bytes that arrived elsewhere (with the command
 * line, or as a TLS socket's records) are copied there (`copy`). A full stage is
 * written to the sink, and once the sink is done with it (the storage contract: its
 * write callback has run) it goes to the hash without a copy, and from there back to
 * the shared pool. So between the kernel and the file and the hash worker nobody
 * copies a byte of a plain-TCP upload, and nothing is allocated per read (Node's own
 * reads allocate 64 KiB each; collecting them cost a third of an upload's CPU).
 *
 * Memory: at most UPLOAD_BUFFERS_EACH stages of this payload are being filled or
 * written at once, each of the size `acquireUploadChunk` allows; beyond that, or while
 * the hash is behind, `waiting` is true and the reader must stop until `resume`.
 *
 * A sink that fails (or none, to drop a payload) does not end the payload early: the
 * rest is read and dropped so the next command parses, and the sink's error settles it.
 */
export class StagedPayload {
  private stage: Buffer | undefined
  private staged = 0
  private toRead: number
  /** Stages handed to the sink whose write callback has not run yet. */
  private writing = 0
  private sinkError: unknown
  private finished = false
  private awaitingHash = false
  private readonly chunk = acquireUploadChunk()
  /** The reader was asked to stop. */
  waiting = false
  received = 0

  constructor(
    size: number,
    private readonly sink: Writable | undefined,
    private readonly hash: PayloadHash | undefined,
    private readonly events: StagedPayloadEvents,
  ) {
    this.toRead = size
    sink?.on('error', this.onSinkError)
  }

  /** Every byte of the payload has been read (writes may still be in flight). */
  get read(): boolean {
    return this.toRead === 0
  }

  /** Where the next socket read may land: the free part of the stage, never past the payload's end. */
  readBuffer(): Buffer {
    const stage = (this.stage ??= this.newStage())
    return stage.subarray(this.staged, this.staged + Math.min(stage.length - this.staged, this.toRead))
  }

  /** `n` bytes were read into the last `readBuffer()`. */
  onRead(n: number): void {
    this.staged += n
    this.advance(n)
  }

  /** Copies the start of `bytes` that belongs to the payload into the stage; how many bytes that was. */
  copy(bytes: Uint8Array): number {
    let at = 0
    while (at < bytes.length && this.toRead > 0) {
      const target = this.readBuffer()
      const n = Math.min(target.length, bytes.length - at)
      target.set(bytes.subarray(at, at + n))
      at += n
      this.staged += n
      this.advance(n)
    }
    return at
  }

  /** The connection ended before the payload did: settles with `error` now; writes in flight are left to finish. */
  abort(error: unknown): void {
    if (this.finished) return
    this.finish()
    this.events.settle(error)
  }

  private newStage(): Buffer {
    const bytes = Math.min(this.chunk.bytes, this.toRead)
    // A stage smaller than the chunk is the payload's last (or all of a small one): not a pool size.
    return bytes === this.chunk.bytes ? takeBuffer(bytes) : Buffer.allocUnsafe(bytes)
  }

  private advance(n: number): void {
    this.toRead -= n
    this.received += n
    this.events.onBytes?.(this.received)
    if (this.staged === this.stage!.length || this.toRead === 0) this.writeStage()
    if (this.toRead === 0) this.settleIfDone()
    else this.checkWaiting()
  }

  private writeStage(): void {
    const stage = this.stage!
    const length = this.staged
    this.stage = undefined
    this.staged = 0
    this.writing++
    const bytes = stage.subarray(0, length)
    if (this.sink && this.sinkError === undefined) this.sink.write(bytes, (error) => this.written(stage, bytes, error))
    else this.written(stage, bytes, undefined)
  }

  /** The sink is done with `bytes` (the first `length` of `stage`): on to the hash, or back to the pool. */
  private written(stage: Buffer, bytes: Buffer, error: Error | null | undefined): void {
    this.writing--
    if (error) this.sinkError ??= error
    if (this.finished || !this.hash || this.sinkError !== undefined) giveBackBuffer(stage)
    else if (bytes.length === stage.length) this.hash.own(stage)
    else {
      this.hash.update(bytes)
      giveBackBuffer(stage)
    }
    if (this.toRead === 0) this.settleIfDone()
    else this.checkWaiting()
  }

  private checkWaiting(): void {
    if (this.finished) return
    const hashBehind = this.hash?.saturated === true
    if (hashBehind && !this.awaitingHash) {
      this.awaitingHash = true
      void this.hash!.whenDrained().then(() => {
        this.awaitingHash = false
        this.checkWaiting()
      })
    }
    if (hashBehind || this.writing >= UPLOAD_BUFFERS_EACH - 1) this.waiting = true
    else if (this.waiting) {
      this.waiting = false
      this.events.resume()
    }
  }

  private settleIfDone(): void {
    if (this.finished || this.writing > 0) return
    this.finish()
    this.events.settle(this.sinkError)
  }

  private finish(): void {
    this.finished = true
    this.waiting = false
    this.stage = undefined
    this.sink?.off('error', this.onSinkError)
    this.chunk.release()
  }

  private readonly onSinkError = (error: unknown): void => {
    this.sinkError ??= error
  }
}
