import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { fromPromise, type ActorSystem } from 'xstate'
import { isTorError, StorageFailure } from '../errors.js'
import { serverSessionMachine, type SessionLog, type SessionRef, type Transfer, type TransferReport } from '../machines/server-session.js'
import { encodeListingRow, Reply } from '../protocol/index.js'
import { verifyLogin } from '../accounts/accounts.js'
import type { OpenedFile, StorageService, UploadTarget } from '../storage/storage.js'
import type { Connection } from './connection.js'
import { readWhole, WHOLE_FILE_BYTES } from '../storage/read-whole.js'
import { hashFor, SERVER_INLINE_HASH_BYTES } from './parallel-hash.js'
import { runForActor } from './run-effect.js'
import { sendMany, sendOpened } from './send-many.js'
import { storeMany } from './store-many.js'

/** Listing rows are written in batches of about this many bytes, each waiting for the socket to drain. */
const LISTING_BATCH_BYTES = 64 << 10

export interface SessionEnvironment {
  /** Where the files are: the session never knows which store it is. */
  readonly storage: StorageService
  readonly log: (clientId: string, entry: SessionLog) => void
  /** Progress is reported to the machine at most this often (it restarts the stall timer). */
  readonly progressIntervalMs: number
  /** The server's state folder: its accounts file is read at each login. */
  readonly stateDir: string
}

type Staged =
  | { readonly kind: 'download'; readonly file: OpenedFile; readonly scope: Scope.CloseableScope }
  /** A small file read whole when opened (its descriptor already released): sent with its size line. */
  | { readonly kind: 'whole'; readonly bytes: Buffer; readonly scope: Scope.CloseableScope }
  | { readonly kind: 'upload'; readonly target: UploadTarget; readonly scope: Scope.CloseableScope }

/**
 * The I/O of one session, given to it in its spawn input: its connection, and the
 * download opened (or upload target created) in one state whose bytes the next
 * state moves. Holding the opened file from one state to the next means the bytes
 * sent are exactly those of the announced size, even if an upload replaces the name
 * in between.
 */
export class SessionPort {
  private staged: Staged | undefined

  constructor(readonly connection: Connection) {}

  stage(staged: Staged): Effect.Effect<void> {
    return this.releaseStaged.pipe(Effect.map(() => void (this.staged = staged)))
  }

  take<K extends Staged['kind']>(kind: K): Extract<Staged, { kind: K }> | undefined {
    const staged = this.staged
    if (staged?.kind !== kind) return undefined
    this.staged = undefined
    return staged as Extract<Staged, { kind: K }>
  }

  readonly releaseStaged: Effect.Effect<void> = Effect.suspend(() => {
    const previous = this.staged
    this.staged = undefined
    return previous ? Scope.close(previous.scope, Exit.void) : Effect.void
  })

  /** Closes everything the session holds (a connection already ending flushes its last reply first). */
  release(): void {
    Effect.runFork(this.releaseStaged)
    if (!this.connection.socket.writableEnded) this.connection.destroy()
  }
}

const portOf = (ref: SessionRef): SessionPort => ref.io as SessionPort

/** Calls `report` with the latest count at most once per `intervalMs`. */
const throttled = (intervalMs: number, report: (n: number) => void) => {
  let last = 0
  return (n: number) => {
    const now = Date.now()
    if (now - last < intervalMs) return
    last = now
    report(n)
  }
}

/** The server session machine with its I/O provided: once per server, for every session. */
export const createSessionLogic = (env: SessionEnvironment) => {
  const progressOf = (system: ActorSystem<any>, clientId: string) =>
    throttled(env.progressIntervalMs, (bytes) => system.get(clientId)?.send({ type: 'io.progress', bytes }))

  const openDownload = (port: SessionPort, name: string, hash: boolean) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const file = yield* env.storage.openForReading(name).pipe(Scope.extend(scope), Effect.onError(() => Scope.close(scope, Exit.void)))
      // A small file is read whole now and released: one write sends its size line and bytes, no second step.
      const bytes = file.size <= WHOLE_FILE_BYTES ? yield* readWhole(file).pipe(Scope.extend(scope), Effect.onError(() => Scope.close(scope, Exit.void))) : undefined
      // The hash of exactly the opened version (a verified download, `get`).
      const sha256 = hash ? yield* env.storage.sha256(file, bytes).pipe(Effect.onError(() => Scope.close(scope, Exit.void))) : undefined
      if (bytes) {
        yield* Scope.close(scope, Exit.void)
        yield* port.stage({ kind: 'whole', bytes, scope })
      } else yield* port.stage({ kind: 'download', file, scope })
      return { found: true as const, size: file.size, ...(sha256 ? { sha256 } : {}), ...(bytes ? { whole: true } : {}) }
    }).pipe(Effect.catchTag('FileNotFound', () => Effect.succeed({ found: false as const })))

  const prepareUpload = (port: SessionPort, transfer: Transfer) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const target = yield* env.storage.createUpload(transfer.name, transfer.size, { replace: transfer.replace ?? true, ...(transfer.resume ? { resume: transfer.resume } : {}) }).pipe(
        Scope.extend(scope),
        Effect.onError(() => Scope.close(scope, Exit.void)),
      )
      yield* port.stage({ kind: 'upload', target, scope })
      return { from: target.from }
    })

  const sendFile = (port: SessionPort, transfer: Transfer, signal: AbortSignal, progress: (n: number) => void) =>
    Effect.gen(function* () {
      const staged = port.take('download')
      if (!staged) return yield* Effect.die(new Error('sendFile without an opened download'))
      yield* Effect.addFinalizer(() => Scope.close(staged.scope, Exit.void))
      const started = Date.now()
      const start = transfer.offset ?? 0
      const length = transfer.size - start
      if (length === 0) return { bytes: 0, durationMs: 0 }
      // A descriptor belongs to the staged scope (closed by the finalizer above); a stream to this effect's scope.
      yield* sendOpened(port.connection, staged.file, start, length, signal, progress)
      return { bytes: length, durationMs: Date.now() - started }
    }).pipe(Effect.scoped)

  const receiveUpload = (port: SessionPort, transfer: Transfer, progress: (n: number) => void) =>
    Effect.gen(function* () {
      const staged = port.take('upload')
      if (!staged) return yield* Effect.die(new Error('receiveUpload without a prepared upload'))
      // Interrupted (client gone, kicked, stalled) or failed: the scope removes the temporary file.
      // A verified upload that arrived whole is staged again for its checksum line instead.
      let kept = false
      yield* Effect.addFinalizer((exit) => (kept ? Effect.void : Scope.close(staged.scope, exit)))
      const hash = transfer.verified ? yield* Effect.acquireRelease(Effect.sync(() => hashFor(transfer.size, SERVER_INLINE_HASH_BYTES)), (hash) => Effect.sync(() => hash.destroy())) : undefined
      const started = Date.now()
      const from = transfer.offset ?? 0
      const prefix = staged.target.prefix
      if (hash && from > 0 && prefix) {
        // Continuing a kept upload: the bytes kept are hashed first, so the checksum covers the whole file.
        yield* Effect.tryPromise({
          try: async () => {
            for await (const chunk of prefix()) {
              hash.own(chunk)
              if (hash.saturated) await hash.whenDrained()
            }
          },
          catch: (cause) => new StorageFailure({ operation: `read the kept part of ${transfer.name}`, cause }),
        })
      }
      yield* Effect.tryPromise({
        try: () => port.connection.receivePayload(transfer.size - from, staged.target.sink, progress, hash),
        catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: `write ${transfer.name}`, cause })),
      })
      const report = { bytes: transfer.size - from, durationMs: Date.now() - started }
      if (hash) {
        const sha256 = yield* Effect.promise(() => hash.digest())
        yield* port.stage(staged)
        kept = true
        return { ...report, sha256 } satisfies TransferReport
      }
      yield* staged.target.commit()
      return report satisfies TransferReport
    }).pipe(Effect.scoped)

  /** A store: the whole upload in one step, stored only if its bytes hash to `sha256`; its bytes are read even when storage fails. */
  const storeWhole = (port: SessionPort, transfer: Transfer, sha256: string, progress: (n: number) => void) =>
    Effect.gen(function* () {
      const drain = Effect.promise(() => port.connection.receivePayload(transfer.size, undefined, progress).catch(() => undefined))
      const target = yield* env.storage.createUpload(transfer.name, transfer.size, { replace: transfer.replace ?? true, whole: true }).pipe(Effect.tapError(() => drain))
      const hash = yield* Effect.acquireRelease(Effect.sync(() => hashFor(transfer.size, SERVER_INLINE_HASH_BYTES)), (hash) => Effect.sync(() => hash.destroy()))
      const started = Date.now()
      yield* Effect.tryPromise({
        try: () => port.connection.receivePayload(transfer.size, target.sink, progress, hash),
        catch: (cause) => (isTorError(cause) ? cause : new StorageFailure({ operation: `write ${transfer.name}`, cause })),
      })
      const received = yield* Effect.promise(() => hash.digest())
      const report = { bytes: transfer.size, durationMs: Date.now() - started, sha256: received }
      // Not committed, the scope drops what was written.
      if (received !== sha256) return { ...report, stored: false }
      yield* target.commit({ sha256: received })
      return { ...report, stored: true }
    }).pipe(Effect.scoped)

  const commitUpload = (port: SessionPort, sha256: string) =>
    Effect.gen(function* () {
      const staged = port.take('upload')
      if (!staged) return yield* Effect.die(new Error('commitUpload without a received upload'))
      yield* Effect.addFinalizer((exit) => Scope.close(staged.scope, exit))
      // Hashed on the way in: the stored version's hash is known without reading it again.
      yield* staged.target.commit({ sha256 })
    }).pipe(Effect.scoped)

  /** The entry of an opened file with its SHA-256 (size and time of the version hashed), or undefined if it went away. */
  const withHash = (name: string) =>
    Effect.scoped(
      Effect.gen(function* () {
        const file = yield* env.storage.openForReading(name)
        const sha256 = yield* env.storage.sha256(file)
        return { name, size: file.size, mtimeMs: file.mtimeMs, sha256 }
      }),
    ).pipe(Effect.catchTag('FileNotFound', () => Effect.succeed(undefined)))

  const streamListing = async (connection: Connection, search: string | undefined, hashes: boolean, signal: AbortSignal, progress: (n: number) => void) => {
    const listed = await runForActor(env.storage.list(search, progress), signal)
    // With hashes: each file opened and hashed (once per version, then kept); one that went away is left out.
    const entries = hashes
      ? (
          await runForActor(
            Effect.forEach(listed, (entry, i) => withHash(entry.name).pipe(Effect.tap(() => Effect.sync(() => progress(i + 1)))), { concurrency: 8 }),
            signal,
          )
        ).filter((e) => e !== undefined)
      : listed
    let batch: string[] = [Reply.ok]
    let bytes = 0
    let sent = 0
    for (const entry of entries) {
      const row = encodeListingRow(entry)
      batch.push(row)
      bytes += row.length + 1
      if (bytes >= LISTING_BATCH_BYTES) {
        await connection.writeAndDrain(batch, signal)
        sent += bytes
        progress(sent)
        batch = []
        bytes = 0
      }
    }
    batch.push(Reply.end)
    await connection.writeAndDrain(batch, signal)
    return { count: entries.length }
  }

  return serverSessionMachine.provide({
    actors: {
      readLine: fromPromise(({ input, signal }) => portOf(input).connection.readLine(signal)),
      streamListing: fromPromise(({ input, signal, system }) =>
        streamListing(portOf(input).connection, input.search, input.hashes, signal, progressOf(system, input.clientId)),
      ),
      openDownload: fromPromise(({ input, signal }) => runForActor(openDownload(portOf(input), input.name, input.hash), signal)),
      storeMany: fromPromise(({ input, signal, system }) =>
        runForActor(storeMany(env.storage, portOf(input).connection, input, signal, progressOf(system, input.clientId)), signal),
      ),
      sendMany: fromPromise(({ input, signal, system }) =>
        runForActor(sendMany(env.storage, portOf(input).connection, input.files, signal, progressOf(system, input.clientId)), signal),
      ),
      prepareUpload: fromPromise(({ input, signal }) => runForActor(prepareUpload(portOf(input), input), signal)),
      verifyLogin: fromPromise(({ input, signal }) => runForActor(verifyLogin(env.stateDir, input.account, input.token), signal)),
      statTarget: fromPromise(({ input, signal }) => runForActor(env.storage.nameTaken(input.name).pipe(Effect.map((exists) => ({ exists }))), signal)),
      sendFile: fromPromise(({ input, signal, system }) =>
        runForActor(sendFile(portOf(input), input, signal, progressOf(system, input.clientId)), signal),
      ),
      receiveUpload: fromPromise(({ input, signal, system }) =>
        runForActor(receiveUpload(portOf(input), input, progressOf(system, input.clientId)), signal),
      ),
      commitUpload: fromPromise(({ input, signal }) => runForActor(commitUpload(portOf(input), input.sha256), signal)),
      storeWhole: fromPromise(({ input, signal, system }) =>
        runForActor(storeWhole(portOf(input), input, input.sha256, progressOf(system, input.clientId)), signal),
      ),
      dropPayload: fromPromise(({ input, system }) => portOf(input).connection.receivePayload(input.size, undefined, progressOf(system, input.clientId))),
    },
    actions: {
      reply: ({ context }, params) => (context.io as SessionPort | undefined)?.connection.write(params.lines),
      sendWholeFile: ({ context }, params) => {
        const port = context.io as SessionPort | undefined
        const staged = port?.take('whole')
        if (staged) port!.connection.writePayload(staged.bytes.subarray(params.offset))
      },
      log: ({ context }, params) => {
        if (params) env.log(context.clientId, params)
      },
      discardUpload: ({ context }) => {
        const port = context.io as SessionPort | undefined
        const staged = port?.take('upload')
        if (staged) Effect.runFork(staged.target.discard.pipe(Effect.ensuring(Scope.close(staged.scope, Exit.void))))
      },
      closeConnection: ({ context }) => {
        const port = context.io as SessionPort | undefined
        if (!port) return
        Effect.runFork(port.releaseStaged)
        port.connection.close()
      },
    },
  })
}
