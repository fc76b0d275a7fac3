/** Large files move in 1 MiB chunks; small ones in smaller chunks, so many concurrent transfers stay light. */
export const CHUNK_BYTES = 1 << 20
const SMALL_CHUNK_BYTES = 64 << 10

export const chunkBytesFor = (size: number): number => (size >= 16 * CHUNK_BYTES ? CHUNK_BYTES : SMALL_CHUNK_BYTES)

/** What the read buffers of all downloads in progress may take together (two buffers each), and the pool of idle ones. */
const READ_BUFFER_BUDGET = 64 << 20
const POOL_BYTES = 16 << 20
let activeReads = 0
const pool = new Map<number, Buffer[]>()
let pooledBytes = 0

/**
 * The two read buffers for a download of `size` bytes starting now, and their release.
 * Each buffer fill is one read on the thread pool, and a hop there costs about ten times
 * the read itself on these machines (37 µs against 3.6 µs for 64 KiB from the page cache),
 * so buffers are as large as the budget allows: up to 1 MiB while few downloads run, down
 * to 64 KiB when hundreds do. Buffers come from a pool and go back to it (`release(true)`)
 * once no write can still read them; after a failure they are left to the garbage collector.
 */
export const acquireReadBuffers = (size: number): { readonly buffers: readonly [Buffer, Buffer]; readonly release: (reuse: boolean) => void } => {
  activeReads++
  const fair = READ_BUFFER_BUDGET / 2 / activeReads
  const bytes = Math.max(SMALL_CHUNK_BYTES, Math.min(CHUNK_BYTES, 2 ** Math.floor(Math.log2(fair))))
  // A file that fits in one chunk needs one buffer, not two: from the pool when it is at least the smallest chunk
  // (a fresh 1 MiB per download was most of the garbage collector's work with 1,000 clients), else its own size.
  if (size <= bytes) {
    const pooled = size >= SMALL_CHUNK_BYTES ? takeBuffer(bytes) : undefined
    const one = pooled ? pooled.subarray(0, size) : Buffer.allocUnsafe(Math.max(1, size))
    return {
      buffers: [one, one],
      release: once((reuse: boolean) => {
        activeReads--
        if (reuse && pooled) giveBackBuffer(pooled)
      }),
    }
  }
  const buffers = [takeBuffer(bytes), takeBuffer(bytes)] as const
  return {
    buffers,
    release: once((reuse: boolean) => {
      activeReads--
      if (reuse) for (const buffer of buffers) giveBackBuffer(buffer)
    }),
  }
}

/**
 * Bytes of files read whole ahead of their turn (the files of a gets, up to 1 MiB each) that all
 * sessions may hold together: beyond it a file is streamed when its turn comes instead.
 */
const READ_AHEAD_BUDGET = 32 << 20
let readAhead = 0

/** Takes `bytes` of the read-ahead budget if there is room: true when taken (give it back with releaseReadAhead). */
export const reserveReadAhead = (bytes: number): boolean => {
  if (readAhead + bytes > READ_AHEAD_BUDGET) return false
  readAhead += bytes
  return true
}

export const releaseReadAhead = (bytes: number): void => {
  readAhead -= bytes
}

/** Bytes of the read-ahead budget held now, by every session. */
export const readAheadBytes = (): number => readAhead

/** A pooled buffer for `size` bytes: the next size buffers are taken in (a power of two, at least 64 KiB). */
export const takeBufferFor = (size: number): Buffer => takeBuffer(Math.max(SMALL_CHUNK_BYTES, 2 ** Math.ceil(Math.log2(Math.max(1, size)))))

/** A buffer of exactly `bytes` with an ArrayBuffer of its own (so it can be transferred to a worker): from the pool, or new. */
export const takeBuffer = (bytes: number): Buffer => {
  const free = pool.get(bytes)?.pop()
  if (free) pooledBytes -= bytes
  return free ?? Buffer.allocUnsafeSlow(bytes)
}

/** True for the sizes buffers are taken in: powers of two from 64 KiB. */
export const isPoolSize = (bytes: number): boolean => bytes >= SMALL_CHUNK_BYTES && (bytes & (bytes - 1)) === 0

/** Gives a buffer back to be taken again, unless the pool is full. Nothing may still read or write it. */
export const giveBackBuffer = (buffer: Uint8Array): void => {
  const bytes = buffer.byteLength
  // Only the sizes buffers are taken in: anything else would sit in the pool unused.
  if (!isPoolSize(bytes) || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== bytes || pooledBytes + bytes > POOL_BYTES) return
  pooledBytes += bytes
  const free = pool.get(bytes) ?? []
  free.push(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, 0, bytes))
  pool.set(bytes, free)
}

/** What the stage buffers of all uploads in progress may take together, and how many each may have in flight. */
const UPLOAD_BUFFER_BUDGET = 32 << 20
export const UPLOAD_BUFFERS_EACH = 4
/** Stage bytes the uploads in progress may hold (their chunk size times UPLOAD_BUFFERS_EACH). */
let reservedUploadBytes = 0

/**
 * The size of the stage buffers of an upload starting now, and its release: 1 MiB while
 * what the running uploads reserved leaves room for it in the budget, else 64 KiB (each
 * upload has at most UPLOAD_BUFFERS_EACH of them filled or being written at once). So
 * uploads hold at most the budget plus 256 KiB for each one beyond it: 200 uploads
 * started at once, about 80 MiB.
 */
export const acquireUploadChunk = (): { readonly bytes: number; readonly release: () => void } => {
  const room = (UPLOAD_BUFFER_BUDGET - reservedUploadBytes) / UPLOAD_BUFFERS_EACH
  const bytes = room >= SMALL_CHUNK_BYTES ? Math.min(CHUNK_BYTES, 2 ** Math.floor(Math.log2(room))) : SMALL_CHUNK_BYTES
  reservedUploadBytes += bytes * UPLOAD_BUFFERS_EACH
  return { bytes, release: once(() => (reservedUploadBytes -= bytes * UPLOAD_BUFFERS_EACH)) }
}

const once = <A extends unknown[]>(f: (...args: A) => void) => {
  let done = false
  return (...args: A) => {
    if (done) return
    done = true
    f(...args)
  }
}
