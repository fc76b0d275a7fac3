import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'

// The worker: one SHA-256 per id over the chunks it is sent; the hex digest when asked.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
parentPort.on('message', ({ id, op, bytes }) => {
  if (op === 'update') {
    let hash = hashes.get(id)
    if (!hash) hashes.set(id, (hash = createHash('sha256')))
    hash.update(new Uint8Array(bytes))
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256')
    hashes.delete(id)
    parentPort.postMessage({ id, hex: hash.digest('hex') })
  } else hashes.delete(id)
})
`

/**
 * One worker thread per process hashes for every transfer: SHA-256 at about
 * 1.5 GB/s here is as fast as a transfer moves, so on the thread that moves the
 * bytes it nearly doubled a 1 GiB download's time, and on a server it would hold
 * up every other client. The worker is started on first use and does not keep the
 * process alive while no digest is awaited.
 */
class HashWorker {
  private worker: Worker | undefined
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (error: unknown) => void }>()

  private get thread(): Worker {
    if (!this.worker) {
      const worker = new Worker(WORKER_SOURCE, { eval: true })
      worker.unref()
      worker.on('message', ({ id, hex }: { id: number; hex: string }) => {
        this.waiting.get(id)?.resolve(hex)
        this.waiting.delete(id)
        if (this.waiting.size === 0) worker.unref()
      })
      worker.on('error', (error) => {
        for (const waiter of this.waiting.values()) waiter.reject(error)
        this.waiting.clear()
        this.worker = undefined
      })
      this.worker = worker
    }
    return this.worker
  }

  newId(): number {
    return ++this.nextId
  }

  update(id: number, buffer: ArrayBuffer): void {
    this.thread.postMessage({ id, op: 'update', bytes: buffer }, [buffer])
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
}

const shared = new HashWorker()

/**
 * A SHA-256 computed on the shared hash worker. `update` copies the bytes (the
 * caller's buffer is reused) and hands the copy over without another copy; `own`
 * hands over a buffer the caller gives up. `digest` resolves once every chunk before
 * it is hashed; `destroy` forgets a hash that will not be finished.
 */
export class ParallelHash {
  private readonly id = shared.newId()
  private done = false

  update(bytes: Uint8Array): void {
    this.own(new Uint8Array(bytes))
  }

  /** Hashes `bytes`, which the caller must not use again. */
  own(bytes: Uint8Array): void {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    shared.update(this.id, (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer)
  }

  digest(): Promise<string> {
    this.done = true
    return shared.digest(this.id)
  }

  destroy(): void {
    if (this.done) return
    this.done = true
    shared.drop(this.id)
  }
}

/** The same interface over node:crypto on this thread: for small payloads, where a worker's round trip costs more than the hash. */
export class InlineHash {
  private readonly hash = createHash('sha256')

  update(bytes: Uint8Array): void {
    this.hash.update(bytes)
  }

  own(bytes: Uint8Array): void {
    this.hash.update(bytes)
  }

  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'))
  }

  destroy(): void {}
}

/** Payloads smaller than this are hashed on the thread that moves them. */
const INLINE_HASH_BYTES = 1 << 20

export type TransferHash = ParallelHash | InlineHash

/** A hash for `bytes` bytes: on the worker when large, inline when small. */
export const hashFor = (bytes: number): TransferHash => (bytes < INLINE_HASH_BYTES ? new InlineHash() : new ParallelHash())
