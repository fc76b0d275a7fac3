import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { PeerClosed, StorageFailure, TransferIncomplete } from '../errors.js'

/**
 * Sends exactly `size` bytes of `source` (a stored file opened as a stream: an S3
 * object's body) to `socket` without ending it. The source is paused while the
 * socket's buffer is full, so memory stays at the stream's and the socket's
 * high-water marks. A source that ends early fails with TransferIncomplete; one
 * that has more bytes than announced fails too (the announced size is a promise
 * to the client, and the next command must parse).
 */
export const sendFromStream = (
  socket: Socket,
  source: Readable,
  size: number,
  options: { readonly signal?: AbortSignal; readonly onBytes?: (sent: number) => void },
): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (size === 0) return resolve()
    let taken = 0
    let settled = false
    const cleanup = () => {
      socket.off('close', onClose)
      socket.off('drain', onDrain)
      source.off('data', onData)
      source.off('end', onEnd)
      source.off('error', onError)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const settle = (error?: unknown) => {
      if (settled) return
      settled = true
      cleanup()
      if (error === undefined) resolve()
      else reject(error)
    }
    const onClose = () => settle(new PeerClosed({ during: 'transfer' }))
    const onAbort = () => settle(options.signal?.reason)
    const onError = (cause: unknown) => settle(new StorageFailure({ operation: 'read the stored file', cause }))
    const onEnd = () => {
      if (taken < size) settle(new TransferIncomplete({ expected: size, received: taken }))
    }
    const onDrain = () => source.resume()
    const onData = (chunk: Buffer) => {
      if (taken + chunk.length > size) {
        return settle(new StorageFailure({ operation: 'read the stored file', cause: new Error(`more than the ${size} bytes announced`) }))
      }
      taken += chunk.length
      const last = taken === size
      const flushed = socket.write(chunk, (error) => {
        if (error) return settle(new PeerClosed({ during: 'transfer' }))
        options.onBytes?.(taken)
        if (last) settle()
      })
      if (!flushed && !last) source.pause()
    }
    socket.once('close', onClose)
    socket.on('drain', onDrain)
    source.on('data', onData)
    source.once('end', onEnd)
    source.once('error', onError)
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
