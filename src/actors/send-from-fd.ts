import { read } from 'node:fs'
import type { Socket } from 'node:net'
import { PeerClosed, StorageFailure, TransferIncomplete } from '../errors.js'
import { takeBuffer } from '../storage/chunks.js'

/**
 * Sends exactly `size` bytes of the open file `fd`, from byte `start` (default 0),
 * to `socket` without ending it.
 *
 * Two buffers are allocated once and reused: the next read overlaps the socket
 * write of the previous chunk, and a buffer is read into again only after the
 * socket has handed its last chunk to the kernel (the write callback). So there is
 * no allocation per chunk and memory stays at two buffers per transfer; measured
 * about twice as fast as `pipeline(fs.createReadStream(...), socket)`, with a flat
 * RSS, for a 1 GiB file. A file that shrinks while it is sent fails with
 * TransferIncomplete: the announced size can no longer be kept.
 */
export const sendFromFd = (
  socket: Socket,
  fd: number,
  size: number,
  options: {
    readonly chunkBytes: number
    /** Two buffers to read into (the caller's, reused after): instead of allocating two of chunkBytes. */
    readonly buffers?: readonly [Buffer, Buffer]
    readonly start?: number
    readonly signal?: AbortSignal
    readonly onBytes?: (sent: number) => void
    /** Sees each chunk before it is written (a hash); the buffer is reused once written. */
    readonly onChunk?: (chunk: Uint8Array) => void
    /**
     * Takes each chunk once the socket is done with it (a hash that keeps it: no copy); the
     * next read of that buffer's turn goes into a new one from the shared pool.
     */
    readonly afterWrite?: (chunk: Uint8Array) => void
    /** A promise to wait for before the next read (a hash worker that is behind), or undefined. */
    readonly beforeRead?: () => Promise<void> | undefined
  },
): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (size === 0) return resolve()
    const length = Math.min(options.buffers?.[0].length ?? options.chunkBytes, size)
    const fresh = () => (options.afterWrite ? takeBuffer(length) : Buffer.allocUnsafe(length))
    const buffers = options.buffers ? [...options.buffers] : [fresh(), fresh()]
    const busy = [false, false]
    const waiting: Array<(() => void) | undefined> = [undefined, undefined]
    let position = 0
    let sent = 0
    let settled = false

    const cleanup = () => {
      socket.off('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      cleanup()
      reject(error)
    }
    const onClose = () => fail(new PeerClosed({ during: 'transfer' }))
    const onAbort = () => fail(options.signal?.reason)
    socket.once('close', onClose)
    options.signal?.addEventListener('abort', onAbort, { once: true })

    const readInto = (i: 0 | 1) => {
      if (busy[i]) {
        waiting[i] = () => readInto(i)
        return
      }
      const wait = options.beforeRead?.()
      if (wait) return void wait.then(() => settled || readInto(i))
      const want = Math.min(length, size - position)
      const at = position
      position += want
      read(fd, buffers[i], 0, want, (options.start ?? 0) + at, (error, n) => {
        if (settled) return
        if (error) return fail(new StorageFailure({ operation: 'read the file', cause: error }))
        if (n !== want) return fail(new TransferIncomplete({ expected: size, received: at + n }))
        busy[i] = true
        const chunk = n === length ? buffers[i] : buffers[i].subarray(0, n)
        options.onChunk?.(chunk)
        socket.write(chunk, (writeError) => {
          busy[i] = false
          if (writeError) return fail(new PeerClosed({ during: 'transfer' }))
          if (options.afterWrite) {
            options.afterWrite(chunk)
            if (sent + n < size) buffers[i] = takeBuffer(length)
          }
          sent += n
          options.onBytes?.(sent)
          if (sent === size) {
            settled = true
            cleanup()
            return resolve()
          }
          const resume = waiting[i]
          waiting[i] = undefined
          resume?.()
        })
        if (position < size) readInto(i === 0 ? 1 : 0)
      })
    }
    readInto(0)
  })
