import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { fromPromise } from 'xstate'
import { isTorError, StorageFailure } from '../errors.js'
import { serverSessionMachine, type SessionLog, type Transfer, type TransferReport } from '../machines/server-session.js'
import { encodeListingRow, Reply } from '../protocol/index.js'
import type { FolderCatalog } from '../storage/catalog.js'
import { createUploadTarget, openForReading, type OpenedFile, type ServedFolder } from '../storage/folder.js'
import type { Connection } from './connection.js'
import { runForActor } from './run-effect.js'

/** Large files move in 1 MiB chunks; small ones in smaller chunks, so many concurrent downloads stay light. */
export const CHUNK_BYTES = 1 << 20
const SMALL_CHUNK_BYTES = 64 << 10
const chunkFor = (size: number) => (size >= 16 * CHUNK_BYTES ? CHUNK_BYTES : SMALL_CHUNK_BYTES)
const LISTING_BATCH = 2048

export interface SessionEnvironment {
  readonly folder: ServedFolder
  readonly catalog: FolderCatalog
  readonly log: (clientId: string, entry: SessionLog) => void
}

/**
 * The I/O of one session: its connection, and the download opened in `sendingSize`
 * whose bytes `transferring` sends. Holding the opened file from one state to the
 * next means the bytes sent are exactly those of the announced size, even if an
 * upload replaces the name in between.
 */
export class SessionPort {
  private staged: { file: OpenedFile; scope: Scope.CloseableScope } | undefined

  constructor(readonly connection: Connection) {}

  stage(file: OpenedFile, scope: Scope.CloseableScope): Effect.Effect<void> {
    return this.releaseStaged.pipe(Effect.map(() => void (this.staged = { file, scope })))
  }

  takeStaged(): { file: OpenedFile; scope: Scope.CloseableScope } | undefined {
    const staged = this.staged
    this.staged = undefined
    return staged
  }

  readonly releaseStaged: Effect.Effect<void> = Effect.suspend(() => {
    const previous = this.takeStaged()
    return previous ? Scope.close(previous.scope, Exit.void) : Effect.void
  })

  /** Closes everything the session holds (a connection already ending flushes its last reply first). */
  release(): void {
    Effect.runFork(this.releaseStaged)
    if (!this.connection.socket.writableEnded) this.connection.destroy()
  }
}

/** The sessions' I/O by client id: filled by the acceptor, emptied when a session ends. */
export type SessionPorts = Map<string, SessionPort>

const portOf = (ports: SessionPorts, clientId: string): SessionPort => {
  const port = ports.get(clientId)
  if (!port) throw new Error(`no connection for ${clientId}`)
  return port
}

/** The server session machine with its I/O provided: once per server, for every session. */
export const createSessionLogic = (ports: SessionPorts, env: SessionEnvironment) => {
  const openDownload = (port: SessionPort, name: string) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const file = yield* openForReading(env.folder, name).pipe(
        Scope.extend(scope),
        Effect.onError(() => Scope.close(scope, Exit.void)),
      )
      yield* port.stage(file, scope)
      return { found: true as const, size: file.size }
    }).pipe(Effect.catchTag('FileNotFound', () => Effect.succeed({ found: false as const })))

  const sendFile = (port: SessionPort, transfer: Transfer, signal: AbortSignal) =>
    Effect.gen(function* () {
      const staged = port.takeStaged()
      if (!staged) return yield* Effect.die(new Error('sendFile without an opened download'))
      yield* Effect.addFinalizer(() => Scope.close(staged.scope, Exit.void))
      const started = Date.now()
      if (transfer.size === 0) return { bytes: 0, durationMs: 0 }
      // The descriptor belongs to the staged scope, closed by the finalizer above.
      yield* Effect.tryPromise({
        try: () => port.connection.sendPayload(staged.file.fd, transfer.size, chunkFor(transfer.size), signal),
        catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: `send ${transfer.name}`, cause })),
      })
      return { bytes: transfer.size, durationMs: Date.now() - started }
    }).pipe(Effect.scoped)

  const receiveUpload = (port: SessionPort, transfer: Transfer) =>
    Effect.gen(function* () {
      const started = Date.now()
      const target = yield* createUploadTarget(env.folder, transfer.name, chunkFor(transfer.size))
      yield* Effect.tryPromise({
        try: () => port.connection.receivePayload(transfer.size, target.sink),
        catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: `write ${transfer.name}`, cause })),
      })
      yield* target.commit
      env.catalog.changed(transfer.name)
      return { bytes: transfer.size, durationMs: Date.now() - started } satisfies TransferReport
    }).pipe(Effect.scoped)

  const streamListing = async (connection: Connection, search: string | undefined) => {
    const entries = await env.catalog.list(search)
    connection.write([Reply.ok])
    for (let i = 0; i < entries.length; i += LISTING_BATCH) {
      connection.write(entries.slice(i, i + LISTING_BATCH).map(encodeListingRow))
    }
    connection.write([Reply.end])
    return { count: entries.length }
  }

  return serverSessionMachine.provide({
    actors: {
      readLine: fromPromise(({ input, signal }) => portOf(ports, input.clientId).connection.readLine(signal)),
      streamListing: fromPromise(({ input }) => streamListing(portOf(ports, input.clientId).connection, input.search)),
      openDownload: fromPromise(({ input, signal }) => runForActor(openDownload(portOf(ports, input.clientId), input.name), signal)),
      sendFile: fromPromise(({ input, signal }) => runForActor(sendFile(portOf(ports, input.clientId), input, signal), signal)),
      receiveUpload: fromPromise(({ input, signal }) => runForActor(receiveUpload(portOf(ports, input.clientId), input), signal)),
    },
    actions: {
      reply: ({ context }, params) => ports.get(context.clientId)?.connection.write(params.lines),
      log: ({ context }, params) => env.log(context.clientId, params),
      closeConnection: ({ context }) => {
        const port = ports.get(context.clientId)
        if (!port) return
        Effect.runFork(port.releaseStaged)
        port.connection.close()
      },
    },
  })
}
