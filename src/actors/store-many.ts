import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import type { Permission } from '../accounts/permissions.js'
import { isTorError, publicReason, StorageFailure } from '../errors.js'
import type { ManyStoredReport } from '../machines/server-session.js'
import { decideChecksum, decideStoreEntry, LoginReply, type EntryDecision } from '../machines/session-rules.js'
import { errorReply, Reply } from '../protocol/index.js'
import type { StorageService } from '../storage/storage.js'
import type { Connection } from './connection.js'
import { hashFor, SERVER_INLINE_HASH_BYTES } from './parallel-hash.js'

/**
 * Entries of a stores hashed to the end, written and renamed into place at once, while
 * the next ones are read: the hash worker and the thread-pool round trips overlap the
 * reading. Each holds its bytes (at most 64 KiB in memory; larger ones are in their
 * hidden file already, their last chunks at most in the hash worker's bounded backlog).
 */
const STORING_AT_ONCE = 8

export interface StoreManyInput {
  /** The session may not upload: every entry is read, dropped and answered with this. */
  readonly refused: { readonly reply: string; readonly reason: string } | undefined
  readonly permissions: readonly Permission[]
  readonly maxUploadBytes: number
}

/** An entry's answer, in the order of the entries: known at once, or (undefined) once its entry is stored. */
interface Pending {
  readonly name: string
  readonly size: number
  text: string | undefined
}

const failed = (cause: unknown) => cause

/**
 * A stores: reads each entry (its line, then its bytes) as `decideStoreEntry` decides it,
 * and answers each in order with `end` (stored, its bytes hashed to its SHA-256) or
 * `error <reason>` (nothing stored), up to the empty line. Up to STORING_AT_ONCE entries
 * are committed at once; the next line is read only once the answers written so far have
 * drained (Connection.readLine), so a client that does not read its answers stops being
 * read. An entry that cannot be delimited is answered and ends the session (`closing`).
 */
export const storeMany = (storage: StorageService, connection: Connection, input: StoreManyInput, signal: AbortSignal, progress: (bytes: number) => void) =>
  Effect.gen(function* () {
    const started = Date.now()
    const refused: string[] = []
    const answers: Pending[] = []
    let storing = 0
    // Wakes the reader waiting for room among the entries storing, or for the last answer.
    let settled: (() => void) | undefined
    let stored = 0
    let bytes = 0
    let received = 0
    const mayCreate = input.permissions.includes('upload')
    const mayReplace = input.permissions.includes('overwrite')

    /** Writes the answers known from the head on, in order: each as soon as every entry before it is answered. */
    const writeAnswers = () => {
      while (answers.length > 0 && answers[0]!.text !== undefined) {
        const head = answers.shift()!
        if (head.text === Reply.end) {
          stored++
          bytes += head.size
        } else refused.push(head.name)
        connection.write([head.text!])
      }
    }
    const answer = (pending: Pending, text: string) => {
      pending.text = text
      writeAnswers()
      settled?.()
    }
    /** Waits until `ready` holds, checked each time a stored entry is answered. */
    const until = (ready: () => boolean) =>
      Effect.async<void>((resume) => {
        if (ready()) return resume(Effect.void)
        settled = () => {
          if (!ready()) return
          settled = undefined
          resume(Effect.void)
        }
      })

    const dropBytes = (size: number) =>
      Effect.tryPromise({ try: () => connection.receivePayload(size, undefined, (n) => progress(received + n)), catch: failed })

    /** An entry that may be stored: its bytes into a new upload, hashed; the commit runs on while the next entries are read, and answers `pending`. */
    const storeEntry = (entry: Extract<EntryDecision, { next: 'store' }>, pending: Pending) =>
      Effect.gen(function* () {
        if (!(mayCreate && mayReplace)) {
          const exists = yield* storage.nameTaken(entry.name).pipe(Effect.either)
          const refusal = exists._tag === 'Left' ? errorReply(publicReason(exists.left)) : (exists.right ? !mayReplace : !mayCreate) ? LoginReply.permissionDenied : undefined
          if (refusal) {
            yield* dropBytes(entry.size)
            return refusal
          }
        }
        const scope = yield* Scope.make()
        // The scope removes the hidden file (or aborts the store's upload) unless the commit placed it: closed here
        // on every way out but the commit's fiber, which closes it itself, interruption included (a kick, a stall).
        return yield* Effect.gen(function* () {
          const target = yield* storage.createUpload(entry.name, entry.size, { replace: mayReplace, whole: true }).pipe(Scope.extend(scope), Effect.either)
          if (target._tag === 'Left') {
            yield* Scope.close(scope, Exit.void)
            yield* dropBytes(entry.size)
            return errorReply(publicReason(target.left))
          }
          const hash = hashFor(entry.size, SERVER_INLINE_HASH_BYTES)
          const arrived = yield* Effect.tryPromise({
            try: () => connection.receivePayload(entry.size, target.right.sink, (n) => progress(received + n), hash),
            catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: `write ${entry.name}`, cause })),
          }).pipe(Effect.either)
          if (arrived._tag === 'Left') {
            hash.destroy()
            // The client went away: nothing more to read or answer. A storage failure: its bytes were read and dropped.
            if ((arrived.left as { _tag?: string })._tag === 'PeerClosed') return yield* Effect.fail(arrived.left)
            return errorReply(publicReason(arrived.left))
          }
          // Its hash is finished, checked and the file committed on a fiber of its own while the next entry is read.
          storing++
          yield* Effect.fork(
            Effect.tryPromise({ try: () => hash.digest(), catch: (cause) => new StorageFailure({ operation: `hash ${entry.name}`, cause }) }).pipe(
              Effect.ensuring(Effect.sync(() => hash.destroy())),
              Effect.flatMap((sha256) => {
                const checksum = decideChecksum({ _tag: 'Line', text: entry.sha256 }, sha256)
                return checksum.matches ? target.right.commit({ sha256 }).pipe(Effect.as(Reply.end as string)) : Effect.succeed(checksum.reply)
              }),
              Effect.catchAll((error) => Effect.succeed(errorReply(publicReason(error)))),
              Effect.ensuring(Scope.close(scope, Exit.void)),
              Effect.flatMap((text) =>
                Effect.sync(() => {
                  storing--
                  answer(pending, text)
                }),
              ),
            ),
          )
          return undefined
        }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value === undefined ? Effect.void : Scope.close(scope, Exit.void))))
      })

    for (;;) {
      const entry = decideStoreEntry(yield* Effect.tryPromise({ try: () => connection.readLine(signal), catch: failed }), input.maxUploadBytes)
      if (entry.next === 'end') break
      if (entry.next === 'close') {
        yield* until(() => storing === 0)
        connection.write([entry.reply])
        return { stored, bytes, durationMs: Date.now() - started, refused, closing: entry.reason } satisfies ManyStoredReport
      }
      const pending: Pending = { name: entry.name, size: entry.size, text: undefined }
      answers.push(pending)
      let text: string | undefined
      if (input.refused || entry.next === 'drop') {
        yield* dropBytes(entry.size)
        text = input.refused?.reply ?? (entry as { reply: string }).reply
      } else text = yield* storeEntry(entry, pending)
      received += entry.size
      if (text !== undefined) answer(pending, text)
      yield* until(() => storing < STORING_AT_ONCE)
    }
    yield* until(() => storing === 0)
    return { stored, bytes, durationMs: Date.now() - started, refused } satisfies ManyStoredReport
  })
