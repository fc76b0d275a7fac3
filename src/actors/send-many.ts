import * as Effect from 'effect/Effect'
import { isTorError, publicReason, StorageFailure } from '../errors.js'
import type { ManyReport } from '../machines/server-session.js'
import type { ManyFile } from '../machines/session-rules.js'
import { encodeVerifiedSize, errorReply, Reply } from '../protocol/index.js'
import { giveBackBuffer, releaseReadAhead, reserveReadAhead, takeBufferFor } from '../storage/chunks.js'
import { readWhole, WHOLE_FILE_BYTES } from '../storage/read-whole.js'
import type { OpenedFile, StorageService } from '../storage/storage.js'
import type { Connection } from './connection.js'

/**
 * Files of a gets opened (and, when small, read and hashed) at once, ahead of the
 * writing: their thread-pool round trips overlap.
 */
const PREPARED_AHEAD = 8
/**
 * Files up to this size are read whole ahead too while the read-ahead budget shared by all
 * sessions has room (reserveReadAhead); larger ones, or beyond the budget, stream in turn.
 */
const READ_AHEAD_MAX_BYTES = 1 << 20

/** One name of a gets, ready to be answered: a small file's bytes in memory, a large one to open when its turn comes, or a reply line. */
type Prepared =
  /**
   * `reserved`: bytes of the read-ahead budget it holds until the socket is done with them; `pooled`: the
   * pool's buffer they were read into, given back then (a fresh 1 MiB per file was most of the garbage collector's work).
   */
  | { readonly kind: 'whole'; readonly size: number; readonly sha256: string; readonly bytes: Buffer; readonly reserved: number; readonly pooled?: Buffer }
  | { readonly kind: 'large' }
  | { readonly kind: 'refused'; readonly reply: string }

const refusedWith = (error: unknown): Prepared => ({ kind: 'refused', reply: errorReply(publicReason(error)) })

/** Sends `length` bytes of an opened file from `start`: a descriptor with positional reads, or the store's stream. */
export const sendOpened = (connection: Connection, file: OpenedFile, start: number, length: number, signal: AbortSignal, onBytes: (n: number) => void) =>
  Effect.gen(function* () {
    const source = file.kind === 'descriptor' ? { fd: file.fd, start } : { stream: yield* file.open(start) }
    yield* Effect.tryPromise({
      try: () => connection.sendPayload(source, length, signal, onBytes),
      catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: 'send a file', cause })),
    })
  })

/**
 * A gets: for each name in order, what `get 0 - <name>` answers after its ok, as
 * fast as the client reads (the socket's buffer drains between groups of files).
 * A file that cannot be opened is answered in place (Not found file, or the
 * storage error) and the rest go on; a failure once a file's size line is out
 * fails the whole command, since the byte stream cannot be resynchronised.
 */
export const sendMany = (storage: StorageService, connection: Connection, files: readonly ManyFile[], signal: AbortSignal, progress: (bytes: number) => void) => {
  // Read-ahead bytes of files read and not handed to the socket yet: given back if this ends first (client gone).
  let unwritten = 0
  return Effect.gen(function* () {
    const started = Date.now()
    const missing: string[] = []
    let sent = 0
    let bytes = 0
    const prepare = (file: ManyFile): Effect.Effect<Prepared> =>
      file.refused
        ? Effect.succeed({ kind: 'refused', reply: file.refused.reply })
        : Effect.scoped(
            Effect.gen(function* () {
              const opened = yield* storage.openForReading(file.name)
              const reserved = opened.size <= WHOLE_FILE_BYTES ? 0 : opened.size
              if (reserved > READ_AHEAD_MAX_BYTES || (reserved > 0 && !reserveReadAhead(reserved))) return { kind: 'large' } satisfies Prepared
              unwritten += reserved
              const pooled = reserved > 0 ? takeBufferFor(reserved) : undefined
              return yield* Effect.gen(function* () {
                const content = yield* readWhole(opened, pooled)
                const sha256 = yield* storage.sha256(opened, content)
                return { kind: 'whole', size: opened.size, sha256, bytes: content, reserved, pooled } satisfies Prepared
              }).pipe(
                Effect.onError(() =>
                  Effect.sync(() => {
                    unwritten -= reserved
                    releaseReadAhead(reserved)
                  }),
                ),
              )
            }),
          ).pipe(
            Effect.catchTag('FileNotFound', () => Effect.succeed<Prepared>({ kind: 'refused', reply: Reply.notFound })),
            Effect.catchAll((error) => Effect.succeed(refusedWith(error))),
          )
    // A large file is opened again when its turn comes, and streamed; a failure before its size line is its own answer.
    const sendLarge = (name: string) =>
      Effect.scoped(
        Effect.gen(function* () {
          const opened = yield* storage.openForReading(name)
          const sha256 = yield* storage.sha256(opened)
          return { opened, sha256 }
        }).pipe(
          Effect.map((found) => ({ found })),
          Effect.catchTag('FileNotFound', () => Effect.succeed({ reply: Reply.notFound })),
          Effect.catchAll((error) => Effect.succeed({ reply: (refusedWith(error) as { reply: string }).reply })),
          Effect.flatMap((outcome) => {
            if ('reply' in outcome) {
              connection.write([outcome.reply])
              missing.push(name)
              return Effect.void
            }
            const { opened, sha256 } = outcome.found
            connection.write([Reply.found, encodeVerifiedSize({ size: opened.size, sha256, from: 0 })])
            const before = bytes
            return sendOpened(connection, opened, 0, opened.size, signal, (n) => progress(before + n)).pipe(
              Effect.tap(() => {
                sent++
                bytes += opened.size
              }),
            )
          }),
        ),
      )
    for (let at = 0; at < files.length; at += PREPARED_AHEAD) {
      const group = files.slice(at, at + PREPARED_AHEAD)
      const prepared = yield* Effect.forEach(group, prepare, { concurrency: PREPARED_AHEAD })
      for (const [i, answer] of prepared.entries()) {
        const name = group[i]!.name
        if (answer.kind === 'whole') {
          // Size line and bytes leave in one write with the rest of the group (the socket is corked for the tick).
          connection.write([Reply.found, encodeVerifiedSize({ size: answer.size, sha256: answer.sha256, from: 0 })])
          const { reserved, pooled } = answer
          unwritten -= reserved
          connection.writePayload(
            answer.bytes,
            reserved > 0
              ? () => {
                  releaseReadAhead(reserved)
                  if (pooled) giveBackBuffer(pooled)
                }
              : undefined,
          )
          sent++
          bytes += answer.size
        } else if (answer.kind === 'large') yield* sendLarge(name)
        else {
          connection.write([answer.reply])
          missing.push(name)
        }
      }
      progress(bytes)
      yield* Effect.tryPromise({ try: () => connection.flushed(signal), catch: (cause) => cause })
    }
    return { sent, bytes, durationMs: Date.now() - started, missing } satisfies ManyReport
  }).pipe(Effect.ensuring(Effect.sync(() => releaseReadAhead(unwritten))))
}
