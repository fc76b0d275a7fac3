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
  const take = (): Buffer => {
    const free = pool.get(bytes)?.pop()
    if (free) pooledBytes -= bytes
    return free ?? Buffer.allocUnsafeSlow(bytes)
  }
  // A small file needs one buffer of its size, not two of the chunk's.
  if (size <= bytes) {
    const one = Buffer.allocUnsafe(Math.max(1, size))
    return { buffers: [one, one], release: once(() => activeReads--) }
  }
  const buffers = [take(), take()] as const
  return {
    buffers,
    release: once((reuse: boolean) => {
      activeReads--
      if (!reuse) return
      for (const buffer of buffers) {
        if (pooledBytes + bytes > POOL_BYTES) break
        pooledBytes += bytes
        const free = pool.get(bytes) ?? []
        free.push(buffer)
        pool.set(bytes, free)
      }
    }),
  }
}

const once = <A extends unknown[]>(f: (...args: A) => void) => {
  let done = false
  return (...args: A) => {
    if (done) return
    done = true
    f(...args)
  }
}
