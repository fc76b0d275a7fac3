import { read } from 'node:fs'
import * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import { StorageFailure } from '../errors.js'
import type { OpenedFile } from './storage.js'

/** Files up to this size are read whole when opened and sent with their size line in one write. */
export const WHOLE_FILE_BYTES = 64 << 10

/** Reads into all of `buffer` from `position` of the open file `fd` (the descriptor's offset is not moved): the bytes read. */
export const readAt = (fd: number, buffer: Uint8Array, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.length, position, (error, n) => (error ? reject(error) : resolve(n))))

/**
 * The whole content of a small opened file (exactly `file.size` bytes: a file that
 * ended early or grew is a failure, never a short or long payload), read into the
 * start of `into` when given (at least `file.size` bytes), else into a new buffer.
 */
export const readWhole = (file: OpenedFile, into?: Buffer): Effect.Effect<Buffer, StorageFailure, Scope.Scope> => {
  const failed = (cause: unknown) => new StorageFailure({ operation: 'read the file', cause })
  const bytes = into ? into.subarray(0, file.size) : Buffer.allocUnsafe(file.size)
  if (file.kind === 'descriptor')
    return Effect.tryPromise({
      try: async () => {
        for (let at = 0; at < file.size; ) {
          const n = await readAt(file.fd, bytes.subarray(at), at)
          if (n === 0) throw new Error(`the file ended at ${at} of ${file.size} bytes`)
          at += n
        }
        return bytes
      },
      catch: failed,
    })
  return Effect.flatMap(file.open(0), (stream) =>
    Effect.tryPromise({
      try: async () => {
        let at = 0
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (at + chunk.length > file.size) throw new Error(`more than the ${file.size} bytes announced`)
          chunk.copy(bytes, at)
          at += chunk.length
        }
        if (at !== file.size) throw new Error(`the file ended at ${at} of ${file.size} bytes`)
        return bytes
      },
      catch: failed,
    }),
  )
}
