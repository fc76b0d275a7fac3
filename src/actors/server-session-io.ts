import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { fromPromise } from 'xstate'
import { StorageFailure, TransferIncomplete } from '../errors.js'
import { serverSessionMachine, type SessionLog, type Transfer, type TransferReport } from '../machines/server-session.js'
import { encodeListingRow, Reply } from '../protocol/index.js'
import type { FolderCatalog } from '../storage/catalog.js'
import { createUploadTarget, openForReading, type OpenedFile, type ServedFolder } from '../storage/folder.js'
import type { Connection } from './connection.js'
import { runForActor } from './run-effect.js'

export const CHUNK_BYTES = 1 << 20
const LISTING_BATCH = 2048

export interface SessionEnvironment {
  readonly folder: ServedFolder
  readonly catalog: FolderCatalog
  readonly log: (clientId: string, entry: SessionLog) => void
}

/**
 * The server session machine with this connection's I/O provided. The opened
 * download waits in `staged` between `sendingSize` (its size is announced) and
 * `transferring` (its bytes are sent), so the bytes sent are exactly the bytes
 * of the announced size even if an upload replaces the name in between.
 */
export const createSessionLogic = (connection: Connection, env: SessionEnvironment) => {
  let staged: { file: OpenedFile; scope: Scope.CloseableScope } | undefined

  const releaseStaged = Effect.suspend(() => {
    const previous = staged
    staged = undefined
    return previous ? Scope.close(previous.scope, Exit.void) : Effect.void
  })

  const openDownload = (name: string) =>
    Effect.gen(function* () {
      yield* releaseStaged
      const scope = yield* Scope.make()
      const file = yield* openForReading(env.folder, name).pipe(
        Scope.extend(scope),
        Effect.onError(() => Scope.close(scope, Exit.void)),
      )
      staged = { file, scope }
      return { found: true as const, size: file.size }
    }).pipe(Effect.catchTag('FileNotFound', () => Effect.succeed({ found: false as const })))

  const sendFile = (transfer: Transfer, signal: AbortSignal) =>
    Effect.gen(function* () {
      const current = staged
      staged = undefined
      if (!current) return yield* Effect.die(new Error('sendFile without an opened download'))
      yield* Effect.addFinalizer(() => Scope.close(current.scope, Exit.void))
      const started = Date.now()
      if (transfer.size === 0) return { bytes: 0, durationMs: 0 }
      const source = current.file.handle.createReadStream({
        start: 0,
        end: transfer.size - 1,
        highWaterMark: CHUNK_BYTES,
        autoClose: true,
      })
      yield* Effect.tryPromise({
        try: () => connection.sendPayload(source, signal),
        catch: (cause) => new StorageFailure({ operation: `send ${transfer.name}`, cause }),
      })
      if (source.bytesRead !== transfer.size) {
        return yield* Effect.fail(new TransferIncomplete({ expected: transfer.size, received: source.bytesRead }))
      }
      return { bytes: transfer.size, durationMs: Date.now() - started }
    }).pipe(Effect.scoped)

  const receiveUpload = (transfer: Transfer) =>
    Effect.gen(function* () {
      const started = Date.now()
      const target = yield* createUploadTarget(env.folder, transfer.name, CHUNK_BYTES)
      yield* Effect.tryPromise({
        try: () => connection.receivePayload(transfer.size, target.sink),
        catch: (cause) =>
          (cause as { _tag?: string })?._tag === 'PeerClosed'
            ? (cause as StorageFailure)
            : new StorageFailure({ operation: `write ${transfer.name}`, cause }),
      })
      yield* target.commit
      env.catalog.changed(transfer.name)
      return { bytes: transfer.size, durationMs: Date.now() - started } satisfies TransferReport
    }).pipe(Effect.scoped)

  const streamListing = async (search: string | undefined) => {
    const entries = await env.catalog.list(search)
    connection.write([Reply.ok])
    for (let i = 0; i < entries.length; i += LISTING_BATCH) {
      const rows = entries.slice(i, i + LISTING_BATCH).map(encodeListingRow)
      connection.write(rows)
    }
    connection.write([Reply.end])
    return { count: entries.length }
  }

  return serverSessionMachine.provide({
    actors: {
      readLine: fromPromise(({ signal }) => connection.readLine(signal)),
      streamListing: fromPromise(({ input }) => streamListing(input.search)),
      openDownload: fromPromise(({ input, signal }) => runForActor(openDownload(input.name), signal)),
      sendFile: fromPromise(({ input, signal }) => runForActor(sendFile(input, signal), signal)),
      receiveUpload: fromPromise(({ input, signal }) => runForActor(receiveUpload(input), signal)),
    },
    actions: {
      reply: (_, params) => connection.write(params.lines),
      log: ({ context }, params) => env.log(context.clientId, params),
      closeConnection: () => {
        Effect.runFork(releaseStaged)
        connection.close()
      },
    },
  })
}
