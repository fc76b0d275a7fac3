import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { fromPromise } from 'xstate'
import { FileNotFound, InvalidFileName, ProtocolViolation, ServerRefused, StorageFailure } from '../errors.js'
import { clientSessionMachine, type TransferInput } from '../machines/client-session.js'
import { decodeListingRow, isErrorReply, nameProblem, Reply, type FileEntry } from '../protocol/index.js'
import type { ClientConnection } from './client-connection.js'
import { runForActor } from './run-effect.js'

export interface ClientFolders {
  /** Where downloads are stored. */
  readonly downloads: string
  /** Where uploads are read from. */
  readonly uploads: string
}

const storageFailure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })

const checkedName = (name: string) => {
  const reason = nameProblem(name)
  return reason === undefined ? Effect.succeed(name) : Effect.fail(new InvalidFileName({ name, reason }))
}

/** Reads listing rows up to `end`. */
const readListing = async (connection: ClientConnection, signal: AbortSignal): Promise<FileEntry[]> => {
  const entries: FileEntry[] = []
  for (;;) {
    const line = await connection.readLine(signal)
    if (line._tag === 'Invalid') throw new ProtocolViolation({ detail: line.message })
    if (line.text === Reply.end) return entries
    if (isErrorReply(line.text)) throw new ServerRefused({ reply: line.text })
    const entry = decodeListingRow(line.text)
    if (entry instanceof ProtocolViolation) throw entry
    entries.push(entry)
  }
}

const statUpload = (folders: ClientFolders, name: string) =>
  Effect.gen(function* () {
    yield* checkedName(name)
    const file = path.join(folders.uploads, name)
    const stats = yield* Effect.tryPromise({ try: () => fs.stat(file), catch: () => new FileNotFound({ name: file }) })
    if (!stats.isFile()) return yield* Effect.fail(new FileNotFound({ name: file }))
    return stats.size
  })

/** Downloads in progress are hidden files named with the downloading process's pid. */
const DOWNLOAD_PREFIX = '.tor-download-'

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the hidden partial downloads that a killed client left in `downloads`
 * (those whose process is gone); partial files of a client still running stay.
 */
export const removeOrphanDownloads = (downloads: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const names = await fs.readdir(downloads).catch(() => [] as string[])
    for (const name of names) {
      const match = /^\.tor-download-(?:(\d+)-)?[0-9a-f-]+\.part$/.exec(name)
      if (match && !(match[1] && isAlive(Number(match[1])))) await fs.rm(path.join(downloads, name), { force: true })
    }
  })

/** Downloads into a hidden temporary file, renamed to its name only once every byte is there. */
const receiveFile = (connection: ClientConnection, folders: ClientFolders, { name, size }: TransferInput) =>
  Effect.gen(function* () {
    yield* checkedName(name)
    const started = Date.now()
    const temp = path.join(folders.downloads, `${DOWNLOAD_PREFIX}${process.pid}-${randomUUID()}.part`)
    let renamed = false
    yield* Effect.addFinalizer(() => (renamed ? Effect.void : Effect.promise(() => fs.rm(temp, { force: true }))))
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => fs.open(temp, 'wx', 0o644), catch: storageFailure(`create ${temp}`) }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined)),
    )
    yield* Effect.tryPromise({
      try: () => connection.receiveToFile(handle.fd, size),
      catch: (cause) => cause as StorageFailure,
    })
    yield* Effect.tryPromise({
      try: async () => {
        await handle.close()
        await fs.rename(temp, path.join(folders.downloads, name))
        renamed = true
      },
      catch: storageFailure(`store ${name}`),
    })
    return { bytes: size, durationMs: Date.now() - started }
  }).pipe(Effect.scoped)

/** The client session machine with this connection's I/O provided. */
export const createClientLogic = (connection: ClientConnection, folders: ClientFolders) =>
  clientSessionMachine.provide({
    actors: {
      readLine: fromPromise(({ signal }) => connection.readLine(signal)),
      readListing: fromPromise(({ signal }) => readListing(connection, signal)),
      statUpload: fromPromise(({ input, signal }) => runForActor(statUpload(folders, input.name), signal)),
      receiveFile: fromPromise(({ input, signal }) => runForActor(receiveFile(connection, folders, input), signal)),
      sendFile: fromPromise(async ({ input, signal }) => {
        const started = Date.now()
        await connection.sendFromFile(path.join(folders.uploads, input.name), input.size, signal)
        return { bytes: input.size, durationMs: Date.now() - started }
      }),
    },
    actions: {
      send: (_, { line }) => connection.write(line),
      closeConnection: () => connection.close(),
    },
  })
