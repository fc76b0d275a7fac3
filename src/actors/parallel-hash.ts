import { createRequire } from 'node:module'
import type { Worker } from 'node:worker_threads'
import { giveBackBuffer, isPoolSize, takeBuffer, takeBufferFor } from '../storage/chunks.js'
import { readAt } from '../storage/read-whole.js'
import { nodeCrypto } from './on-demand.js'

// The worker: one SHA-256 per id over the chunks it is sent, each acknowledged once hashed; the hex digest when asked.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
parentPort.on('message', ({ id, op, bytes, length }) => {
  if (op === 'update') {
    let hash = hashes.get(id)
    if (!hash) hashes.set(id, (hash = createHash('sha256')))
    hash.update(new Uint8Array(bytes, 0, length))
    // Handed back to be filled again: no allocation per batch on either side.
    parentPort.postMessage({ hashed: bytes.byteLength, bytes }, [bytes])
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256')
    hashes.delete(id)
    parentPort.postMessage({ id, hex: hash.digest('hex') })
  } else hashes.delete(id)
})
`

/** Bytes handed to the worker and not hashed yet, across every transfer, above which the transfers wait. */
const MAX_IN_FLIGHT_BYTES = 16 << 20
/** Bytes are handed over in batches of this size: a message per socket read cost more than its bytes. */
const BATCH_BYTES = 1 << 20

/**
 * One worker thread per process hashes for every transfer: SHA-256 at about
 * 1.5 GB/s here is as fast as a transfer moves, so on the thread that moves the
 * bytes it nearly doubled a 1 GiB download's time, and on a server it would hold
 * up every other client. The worker is started on first use and does not keep the
 * process alive while no digest is awaited. What it has not hashed yet is bounded:
 * above MAX_IN_FLIGHT_BYTES the transfers pause their sockets (`saturated`,
 * `whenDrained`) until it catches up, so a worker slower than the network never
 * turns into memory.
 */
class HashWorker {
  private worker: Worker | undefined
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (error: unknown) => void }>()
  private inFlight = 0
  private drainWaiters: Array<() => void> = []

  private get thread(): Worker {
    if (!this.worker) {
      // node:worker_threads is loaded with the first worker: a command that never hashes on one does not pay for it.
      const { Worker: WorkerThread } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')
      const worker = new WorkerThread(WORKER_SOURCE, { eval: true })
      worker.unref()
      worker.on('message', (message: { hashed: number; bytes: ArrayBuffer } | { id: number; hex: string }) => {
        if ('hashed' in message) {
          // Handed back to the shared pool, to be filled again (a batch here, an upload's stage buffer).
          giveBackBuffer(new Uint8Array(message.bytes))
          return this.hashed(message.hashed)
        }
        this.waiting.get(message.id)?.resolve(message.hex)
        this.waiting.delete(message.id)
        this.unrefWhenIdle()
      })
      worker.on('error', (error) => {
        for (const waiter of this.waiting.values()) waiter.reject(error)
        this.waiting.clear()
        this.worker = undefined
        this.hashed(this.inFlight)
      })
      this.worker = worker
    }
    return this.worker
  }

  get saturated(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT_BYTES
  }

  /**
   * Resolves once the backlog is below the limit. The worker is kept referenced meanwhile: a paused
   * socket keeps no process alive, so a download resumed after a long kept part once exited (code 13,
   * nothing said) while it waited here for an unreferenced worker.
   */
  whenDrained(): Promise<void> {
    if (!this.saturated) return Promise.resolve()
    this.thread.ref()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  newId(): number {
    return ++this.nextId
  }

  /** Hashes the first `length` bytes of `buffer`, which is transferred (and comes back to the pool once hashed). */
  update(id: number, buffer: ArrayBuffer, length = buffer.byteLength): void {
    this.inFlight += buffer.byteLength
    this.thread.postMessage({ id, op: 'update', bytes: buffer, length }, [buffer])
  }

  digest(id: number): Promise<string> {
    const thread = this.thread
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      thread.ref()
      thread.postMessage({ id, op: 'digest' })
    })
  }

  drop(id: number): void {
    this.worker?.postMessage({ id, op: 'drop' })
  }

  private hashed(bytes: number): void {
    this.inFlight -= bytes
    if (this.saturated || this.drainWaiters.length === 0) return
    for (const resume of this.drainWaiters.splice(0)) resume()
    this.unrefWhenIdle()
  }

  /** Nothing awaits the worker (no digest, no drain): it does not keep the process alive. */
  private unrefWhenIdle(): void {
    if (this.waiting.size === 0 && this.drainWaiters.length === 0) this.worker?.unref()
  }
}

const shared = new HashWorker()

/**
 * A SHA-256 computed on the shared hash worker. `update` copies the bytes into a
 * batch (the caller's buffer is reused) and hands each full batch over without
 * another copy; `own` hands over a buffer the caller gives up. `digest` resolves
 * once every byte before it is hashed; `destroy` forgets a hash that will not be
 * finished. While `saturated`, the caller should stop reading until `whenDrained`.
 */
export class ParallelHash {
  private readonly id = shared.newId()
  private done = false
  private batch: Uint8Array | undefined
  private batched = 0

  update(bytes: Uint8Array): void {
    if (this.done) return
    for (let at = 0; at < bytes.length; ) {
      this.batch ??= takeBuffer(BATCH_BYTES)
      const n = Math.min(bytes.length - at, BATCH_BYTES - this.batched)
      this.batch.set(bytes.subarray(at, at + n), this.batched)
      this.batched += n
      at += n
      if (this.batched === BATCH_BYTES) this.flush()
    }
  }

  /** The worker takes buffers of the pool's sizes whole (`own`) without a copy. */
  readonly takesBuffers = true

  /**
   * Hashes `bytes`, which the caller gives up: a whole buffer, or the start of a buffer of one of the
   * pool's sizes, goes to the worker and then to the shared pool; any other view is copied (Buffer's
   * slice would not copy, and would hand over the whole).
   */
  own(bytes: Uint8Array): void {
    if (this.done) return
    this.flush()
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    if (whole || (bytes.byteOffset === 0 && isPoolSize(bytes.buffer.byteLength))) shared.update(this.id, bytes.buffer as ArrayBuffer, bytes.byteLength)
    else shared.update(this.id, new Uint8Array(bytes).buffer as ArrayBuffer)
  }

  get saturated(): boolean {
    return shared.saturated
  }

  whenDrained(): Promise<void> {
    return shared.whenDrained()
  }

  digest(): Promise<string> {
    this.flush()
    this.done = true
    return shared.digest(this.id)
  }

  destroy(): void {
    this.batch = undefined
    if (this.done) return
    this.done = true
    shared.drop(this.id)
  }

  private flush(): void {
    if (!this.batch || this.batched === 0) return
    const full = this.batched === this.batch.length
    shared.update(this.id, (full ? this.batch.buffer : new Uint8Array(this.batch.subarray(0, this.batched)).buffer) as ArrayBuffer)
    this.batch = full ? undefined : this.batch
    this.batched = 0
  }
}

/** The same interface over node:crypto on this thread: for small payloads, where a worker's round trip costs more than the hash. */
export class InlineHash {
  private readonly hash = nodeCrypto().createHash('sha256')
  readonly saturated = false
  readonly takesBuffers = false

  update(bytes: Uint8Array): void {
    this.hash.update(bytes)
  }

  own(bytes: Uint8Array): void {
    this.hash.update(bytes)
    giveBackBuffer(bytes)
  }

  whenDrained(): Promise<void> {
    return Promise.resolve()
  }

  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'))
  }

  destroy(): void {}
}

/**
 * What a connection feeds payload bytes to (either hash below): while `saturated`, it reads no
 * more until `whenDrained`, so a hash that is behind costs waiting, not memory.
 */
export interface PayloadHash {
  update(bytes: Uint8Array): void
  /** True when `own` takes a buffer without copying it (the worker's): worth handing one over. */
  readonly takesBuffers: boolean
  /** Hashes `bytes`, which the caller gives up: no copy. */
  own(bytes: Uint8Array): void
  readonly saturated: boolean
  whenDrained(): Promise<void>
}

/**
 * Payloads up to this size are hashed on the thread that moves them (about 0.6 ms for 1 MiB here):
 * less than a round trip to the worker, and a client whose batch holds only such files never starts
 * the worker (about 60 ms of a batch of 100 files of 1 MiB).
 */
const INLINE_HASH_BYTES = 1 << 20

export type TransferHash = ParallelHash | InlineHash

/**
 * A server hashes payloads over this size on the worker: 0.55 ms per MiB on its event loop would hold
 * every other client up, and its worker is started once for the process, not once per command.
 */
export const SERVER_INLINE_HASH_BYTES = 64 << 10

/** A hash for `bytes` bytes: on the worker when large, inline when at most `inlineUpTo` (a client's default). */
export const hashFor = (bytes: number, inlineUpTo = INLINE_HASH_BYTES): TransferHash => (bytes <= inlineUpTo ? new InlineHash() : new ParallelHash())

/** Bytes of a file read (and handed to the worker) at a time by hashFileOnWorker: a pool size. */
const FILE_READ_BYTES = 1 << 20

/**
 * The SHA-256 of `size` bytes of an open descriptor, computed on the hash worker: a server hashing the files
 * put in its folder (each once, in the background or at a first download) did it on the event loop every
 * client shares, and answered a stream of searches three times slower meanwhile (p50 0.85 against 0.25 ms
 * while a 4 GB file was hashed). Reads go into pooled buffers handed over whole; above the worker's backlog
 * limit the reading waits. Files up to SERVER_INLINE_HASH_BYTES are hashed here, in one read.
 */
export const hashFileOnWorker = async (fd: number, size: number): Promise<string> => {
  // A small file here: the worker's round trip costs more than its hash (as for the payloads of uploads).
  const hash = hashFor(size, SERVER_INLINE_HASH_BYTES)
  try {
    for (let at = 0; at < size; ) {
      if (hash.saturated) await hash.whenDrained()
      // Never past `size`: a file that grew since it was opened is served and hashed as it was.
      const wanted = Math.min(FILE_READ_BYTES, size - at)
      const buffer = takeBufferFor(wanted)
      const n = await readAt(fd, buffer.subarray(0, wanted), at).catch((error: unknown) => {
        giveBackBuffer(buffer)
        throw error
      })
      if (n === 0) {
        giveBackBuffer(buffer)
        throw new Error(`the file ended at ${at} of ${size} bytes while it was hashed`)
      }
      // The worker takes the whole buffer (and gives it back to the pool); hashed here, it goes back at once.
      if (hash.takesBuffers) hash.own(buffer.subarray(0, n))
      else {
        hash.update(buffer.subarray(0, n))
        giveBackBuffer(buffer)
      }
      at += n
    }
    return await hash.digest()
  } finally {
    hash.destroy()
  }
}
