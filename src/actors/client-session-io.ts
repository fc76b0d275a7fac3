// fs.promises, not node:fs/promises: it loads on first use (about 1.2 ms of every client command's start otherwise).
import { closeSync, fstatSync, openSync, promises as fs, readdirSync, readSync, renameSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { fromPromise } from 'xstate'
import { asTorError, ChecksumMismatch, FileNotFound, InvalidFileName, NoLocalSpace, ProtocolViolation, ServerRefused, StorageFailure } from '../errors.js'
import { defineClientSession, refusal, type ManyFileOutcome, type TransferInput } from '../machines/client-session.js'
import { decodeListingRow, encodeStoreEntry, isErrorReply, nameProblem, parseVerifiedSize, Reply, type FileEntry, type VerifiedSize } from '../protocol/index.js'
import type { ClientConnection } from './client-connection.js'
import { nodeCrypto } from './on-demand.js'
import { hashFor, ParallelHash, type TransferHash } from './parallel-hash.js'
import { runForActor } from './run-effect.js'
import { giveBackBuffer, takeBufferFor } from '../storage/chunks.js'
import { isAlive } from '../storage/pids.js'

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

/** Reads the lines after an `ok` up to `end`, each turned into a row by `parse` (which throws on a bad one). */
const readRows = async <A>(connection: ClientConnection, signal: AbortSignal, parse: (text: string, count: number) => A): Promise<A[]> => {
  const rows: A[] = []
  for (;;) {
    const line = await connection.readLine(signal)
    if (line._tag === 'Invalid') throw new ProtocolViolation({ detail: line.message })
    if (line.text === Reply.end) return rows
    rows.push(parse(line.text, rows.length))
  }
}

/** Listing rows; an `error ...` line instead of a row is the server refusing mid-listing. */
const readListing = (connection: ClientConnection, signal: AbortSignal): Promise<FileEntry[]> =>
  readRows(connection, signal, (text) => {
    if (isErrorReply(text)) throw new ServerRefused({ reply: text })
    const entry = decodeListingRow(text)
    if (entry instanceof ProtocolViolation) throw entry
    return entry
  })

/** Feature names (short lowercase words, at most 64 of them). */
const readFeatures = (connection: ClientConnection, signal: AbortSignal): Promise<string[]> =>
  readRows(connection, signal, (text, count) => {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(text) || count >= 64) throw new ProtocolViolation({ detail: `unexpected feature line from server: ${JSON.stringify(text.slice(0, 80))}` })
    return text
  })

/**
 * A small file of Uploads read whole for a store: its bytes and their SHA-256, read from one
 * descriptor (what is checked is what is sent), into a buffer from `take` when given (the pool's:
 * 100 fresh buffers of 1 MiB cost the reads their page faults). Synchronous: a client holds up no one else.
 */
export const readSmallUpload = (
  folders: ClientFolders,
  name: string,
  maxBytes: number,
  take: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
): { bytes: Buffer; sha256: string; buffer: Buffer } | undefined => {
  const reason = nameProblem(name)
  if (reason !== undefined) throw new InvalidFileName({ name, reason })
  const file = path.join(folders.uploads, name)
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    throw new FileNotFound({ name: file })
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw new FileNotFound({ name: file })
    if (stats.size > maxBytes) return undefined
    const buffer = take(stats.size)
    const bytes = buffer.subarray(0, stats.size)
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, bytes, at, bytes.length - at, at)
      if (n === 0) throw new StorageFailure({ operation: `read ${file}`, cause: new Error('the file became shorter while it was read') })
      at += n
    }
    return { bytes, sha256: nodeCrypto().createHash('sha256').update(bytes).digest('hex'), buffer }
  } finally {
    closeSync(fd)
  }
}

const statUpload = (folders: ClientFolders, name: string) =>
  Effect.gen(function* () {
    yield* checkedName(name)
    const file = path.join(folders.uploads, name)
    const stats = yield* Effect.tryPromise({ try: () => fs.stat(file), catch: () => new FileNotFound({ name: file }) })
    if (!stats.isFile()) return yield* Effect.fail(new FileNotFound({ name: file }))
    // Names this version of the local file: an upload of it that was cut can be continued, one of a changed file not.
    const key = nodeCrypto().createHash('sha256').update(`${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${name}`).digest('hex')
    return { size: stats.size, key }
  })

/** Downloads in progress are hidden files named with the downloading process's pid. */
const DOWNLOAD_PREFIX = '.tor-download-'


/**
 * Removes the hidden partial downloads that a killed client left in `downloads`
 * (those whose process is gone); partial files of a client still running stay.
 */
export const removeOrphanDownloadsSync = (downloads: string): void => {
  let names: string[]
  try {
    names = readdirSync(downloads)
  } catch {
    return
  }
  for (const name of names) {
    const match = /^\.tor-download-(?:(\d+)-)?[0-9a-f-]+\.part$/.exec(name)
    if (match && !(match[1] && isAlive(Number(match[1])))) rmSync(path.join(downloads, name), { force: true })
  }
}

/**
 * A verified download in progress keeps its bytes in a hidden part file, and the
 * name, size and SHA-256 of the file they are part of beside it, so that a cut
 * (network, Ctrl-C, kill) can be resumed by the next download of that name.
 */
const PARTIAL_PREFIX = '.tor-partial-'
/**
 * Downloads at least this large keep a part to resume when cut; smaller ones start over. Keeping a
 * part costs a description file, a fiber and thread-pool round trips per file: for 100 files of
 * 1 MiB that was a fifth of the batch's time, more than fetching a cut one again would ever cost.
 */
export const RESUMABLE_BYTES = 4 << 20

interface PartialMeta {
  readonly name: string
  readonly size: number
  readonly sha256: string
}

const partialId = (name: string) => nodeCrypto().createHash('sha256').update(name).digest('hex').slice(0, 32)

const partialPaths = (downloads: string, name: string) => {
  const id = partialId(name)
  return { part: path.join(downloads, `${PARTIAL_PREFIX}${id}.part`), meta: path.join(downloads, `${PARTIAL_PREFIX}${id}.json`) }
}

/**
 * One look at `downloads` for kept parts: a name without one needs no `findPartial`
 * (two failing file operations, each a thrown error: most of a small file's cost in a batch).
 */
export const keptPartials = async (downloads: string): Promise<(name: string) => boolean> => {
  const names = await fs.readdir(downloads).catch(() => [] as string[])
  const ids = new Set(names.filter((n) => n.startsWith(PARTIAL_PREFIX)).map((n) => n.slice(PARTIAL_PREFIX.length).replace(/\.(part|json)$/, '')))
  return (name) => ids.size > 0 && ids.has(partialId(name))
}

const readMeta = async (file: string): Promise<PartialMeta | undefined> => {
  try {
    const meta = JSON.parse(await fs.readFile(file, 'utf8')) as PartialMeta
    return typeof meta.name === 'string' && Number.isSafeInteger(meta.size) && /^[0-9a-f]{64}$/.test(meta.sha256) ? meta : undefined
  } catch {
    return undefined
  }
}

const dropPartial = ({ part, meta }: { part: string; meta: string }) =>
  Promise.all([fs.rm(part, { force: true }), fs.rm(meta, { force: true })]).then(() => undefined)

/** The part of `name` kept from an earlier try, if any: how many bytes, and the hash of the file they belong to. */
export const findPartial = async (downloads: string, name: string): Promise<{ offset: number; expected: string } | undefined> => {
  const paths = partialPaths(downloads, name)
  const meta = await readMeta(paths.meta)
  const stats = await fs.stat(paths.part).catch(() => undefined)
  if (!meta || meta.name !== name || !stats?.isFile() || stats.size > meta.size) {
    if (meta || stats) await dropPartial(paths)
    return undefined
  }
  return { offset: stats.size, expected: meta.sha256 }
}

/** Feeds the first `length` bytes of `file` into `hash` (a kept part, or what the server already holds of an upload). */
const hashFilePrefix = async (file: string, length: number, hash: TransferHash): Promise<void> => {
  const handle = await fs.open(file, 'r')
  try {
    for (let at = 0; at < length; ) {
      // A fresh buffer per read: it is handed to the worker without a copy.
      const buffer = Buffer.allocUnsafeSlow(Math.min(1 << 20, length - at))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at)
      if (bytesRead === 0) throw new Error(`${file} is shorter than the ${length} bytes already transferred`)
      hash.own(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead))
      at += bytesRead
      if (hash.saturated) await hash.whenDrained()
    }
  } finally {
    await handle.close()
  }
}

/** Downloads into a hidden temporary file, renamed to its name only once every byte is there. */
const receiveFile = (connection: ClientConnection, folders: ClientFolders, { name, size }: TransferInput) =>
  Effect.gen(function* () {
    yield* checkedName(name)
    const started = Date.now()
    const temp = path.join(folders.downloads, `${DOWNLOAD_PREFIX}${process.pid}-${nodeCrypto().randomUUID()}.part`)
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

/**
 * A verified download (`get`): the bytes go to the part file (from `from` on),
 * hashed as they arrive on top of the kept part's hash; the file is renamed to its
 * name only if the whole hashes to the SHA-256 announced. A mismatch drops the part
 * and fails with ChecksumMismatch; a cut keeps the part and its description.
 */
const receiveVerified = (connection: ClientConnection, folders: ClientFolders, name: string, verified: VerifiedSize, resumed: TransferHash | undefined) =>
  Effect.gen(function* () {
    yield* checkedName(name)
    const started = Date.now()
    const paths = partialPaths(folders.downloads, name)
    const hash = yield* Effect.acquireRelease(
      Effect.sync(() => (verified.from > 0 ? resumed : hashFor(verified.size))),
      (hash) => Effect.sync(() => hash?.destroy()),
    )
    if (!hash) return yield* Effect.die(new Error('a resumed download without its kept part hashed'))
    // File operations here are synchronous, like the payload writes: a client holds up no one else,
    // and in a batch of 1 MiB files their thread-pool round trips cost more than the bytes.
    if (verified.from === 0) {
      const meta: PartialMeta = { name, size: verified.size, sha256: verified.sha256 }
      yield* Effect.try({ try: () => writeFileSync(paths.meta, JSON.stringify(meta), { mode: 0o600 }), catch: storageFailure(`write ${paths.meta}`) })
    }
    let fd: number | undefined = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          if (verified.from === 0) return openSync(paths.part, 'w', 0o644)
          // Resuming: the part holds exactly the bytes before `from`, and the rest is appended.
          truncateSync(paths.part, verified.from)
          return openSync(paths.part, 'a')
        },
        catch: storageFailure(`open ${paths.part}`),
      }),
      () => Effect.sync(() => fd !== undefined && closeSync(fd)),
    )
    yield* Effect.tryPromise({
      try: () => connection.receiveToFile(fd!, verified.size - verified.from, hash),
      catch: (cause) => cause as StorageFailure,
    })
    const actual = yield* Effect.tryPromise({ try: () => hash.digest(), catch: storageFailure('hash the download') })
    if (actual !== verified.sha256) {
      yield* Effect.promise(() => dropPartial(paths))
      return yield* Effect.fail(new ChecksumMismatch({ name, expected: verified.sha256, actual }))
    }
    yield* Effect.try({
      try: () => {
        closeSync(fd!)
        fd = undefined
        renameSync(paths.part, path.join(folders.downloads, name))
        rmSync(paths.meta, { force: true })
      },
      catch: storageFailure(`store ${name}`),
    })
    return { bytes: verified.size - verified.from, durationMs: Date.now() - started }
  }).pipe(Effect.scoped)

/**
 * A small verified download (below RESUMABLE_BYTES, from the start): receiveVerified's steps
 * with synchronous file calls and no fiber. In a batch of 1,000 small files the thread-pool
 * round trips and fibers cost more than the bytes; a client process holds up no one else
 * (its payload writes are synchronous already). Nothing is kept when it fails.
 */
const receiveSmallVerified = async (connection: ClientConnection, folders: ClientFolders, name: string, verified: VerifiedSize) => {
  const reason = nameProblem(name)
  if (reason !== undefined) throw new InvalidFileName({ name, reason })
  const started = Date.now()
  const { part } = partialPaths(folders.downloads, name)
  const hash = hashFor(verified.size)
  let fd: number | undefined
  try {
    try {
      fd = openSync(part, 'w', 0o644)
    } catch (cause) {
      throw new StorageFailure({ operation: `open ${part}`, cause })
    }
    await connection.receiveToFile(fd, verified.size, hash)
    const actual = await hash.digest()
    if (actual !== verified.sha256) throw new ChecksumMismatch({ name, expected: verified.sha256, actual })
    try {
      closeSync(fd)
      fd = undefined
      renameSync(part, path.join(folders.downloads, name))
    } catch (cause) {
      throw new StorageFailure({ operation: `store ${name}`, cause })
    }
    return { bytes: verified.size, durationMs: Date.now() - started }
  } catch (error) {
    rmSync(part, { force: true })
    throw error
  } finally {
    if (fd !== undefined) closeSync(fd)
    hash.destroy()
  }
}

/** Fails with NoLocalSpace when `folder`'s file system has fewer than `needed` bytes free (not checked where statfs is not available). */
const checkLocalSpace = (folder: string, needed: number): void => {
  let available: number
  try {
    const stats = statfsSync(folder)
    available = stats.bavail * stats.bsize
  } catch {
    return
  }
  if (needed > available) throw new NoLocalSpace({ folder, needed, available })
}

/** Hears each file of a gets or a stores as it ends (a batch's display and summary), while the command runs. */
export interface ManyListener {
  onFile?: ((index: number, outcome: ManyFileOutcome) => void) | undefined
  /** A stores wrote the entry of file `index` (its answer may never come, if the connection is lost). */
  onSent?: ((index: number) => void) | undefined
}

/** Files up to this size go in a stores, read whole into memory; larger ones stream with put and can resume. */
export const STORE_BYTES = 4 << 20

/**
 * A stores after its line: each name of Uploads read whole (at most STORE_BYTES, hashed) and
 * written as an entry, the answers read in order as the next entries go out (the socket's
 * buffer bounds how far ahead), then the empty line. A file that cannot be read fails alone
 * and is not sent; the first file too large for a stores ends it there (`handled`: the names
 * taken). An answer other than end or an error line, or a lost connection, fails the command.
 */
const sendMany = async (connection: ClientConnection, folders: ClientFolders, names: readonly string[], listener: ManyListener, signal: AbortSignal) => {
  const outcomes: ManyFileOutcome[] = []
  const report = (index: number, outcome: ManyFileOutcome) => {
    outcomes.push(outcome)
    listener.onFile?.(index, outcome)
  }
  const sent: { readonly index: number; readonly name: string; readonly size: number; readonly sha256: string; readonly at: number }[] = []
  let writing = true
  let wake: (() => void) | undefined
  const readAnswers = async () => {
    for (let next = 0; ; ) {
      if (next === sent.length) {
        if (!writing) return
        await new Promise<void>((resolve) => (wake = resolve))
        continue
      }
      const entry = sent[next++]!
      const line = await connection.readLine(signal)
      if (line._tag === 'Line' && line.text === Reply.end) {
        const verified = { sha256: entry.sha256, from: 0 as const, restarted: false as const }
        report(entry.index, { ok: true, kind: 'transferred', direction: 'upload', name: entry.name, bytes: entry.size, durationMs: Date.now() - entry.at, verified })
        continue
      }
      const refused = refusal(line, { verb: 'upload', name: entry.name })
      if (refused.ok || refused.error._tag === 'ProtocolViolation') throw refused.ok ? new ProtocolViolation({ detail: 'unexpected reply from server' }) : refused.error
      report(entry.index, { ok: false, name: entry.name, error: refused.error })
    }
  }
  const answers = readAnswers()
  // Seen by the writer while it waits for the socket; rethrown below.
  let answersFailed = false
  answers.catch(() => (answersFailed = true))
  let handled = 0
  try {
    for (const [index, name] of names.entries()) {
      if (answersFailed) break
      let small: ReturnType<typeof readSmallUpload>
      try {
        small = readSmallUpload(folders, name, STORE_BYTES, takeBufferFor)
      } catch (error) {
        report(index, { ok: false, name, error: asTorError(error) })
        handled++
        continue
      }
      if (!small) break
      const { buffer } = small
      connection.writeWithPayload(encodeStoreEntry({ size: small.bytes.length, sha256: small.sha256, name }), small.bytes, () => giveBackBuffer(buffer))
      sent.push({ index, name, size: small.bytes.length, sha256: small.sha256, at: Date.now() })
      listener.onSent?.(index)
      handled++
      wake?.()
      await Promise.race([connection.flushed(), answers])
    }
    if (!answersFailed) connection.write('')
  } finally {
    writing = false
    wake?.()
  }
  await answers
  return { files: outcomes, handled }
}

/**
 * The answers to a gets after its ok, one per name in order. Each file is received like a get's from
 * the start (below RESUMABLE_BYTES whole, larger ones into a part kept to resume) and reported as it
 * ends. Not found file, an error line or a checksum mismatch is that file's failure and the rest go on;
 * anything else (a broken connection, an answer that is none of these, a bad size line, no room in
 * Downloads while the bytes follow) fails the command, since the byte stream cannot be followed.
 */
const receiveMany = async (connection: ClientConnection, folders: ClientFolders, names: readonly string[], listener: ManyListener, signal: AbortSignal) => {
  const outcomes: ManyFileOutcome[] = []
  for (const [index, name] of names.entries()) {
    const first = await connection.readLine(signal)
    let outcome: ManyFileOutcome
    if (first._tag === 'Line' && first.text === Reply.found) {
      const sizeLine = await connection.readLine(signal)
      const verified = sizeLine._tag === 'Line' ? parseVerifiedSize(sizeLine.text) : new ProtocolViolation({ detail: `bad size line from server: ${sizeLine.message}` })
      if (verified instanceof ProtocolViolation) throw verified
      if (verified.from !== 0) throw new ProtocolViolation({ detail: `the server resumed ${JSON.stringify(name)} at ${verified.from}, though gets asks for whole files` })
      checkLocalSpace(folders.downloads, verified.size)
      try {
        const report =
          verified.size < RESUMABLE_BYTES
            ? await receiveSmallVerified(connection, folders, name, verified)
            : await runForActor(receiveVerified(connection, folders, name, verified, undefined), signal)
        outcome = { ok: true, kind: 'transferred', direction: 'download', name, ...report, verified: { sha256: verified.sha256, from: 0, restarted: false } }
      } catch (error) {
        // Every byte arrived, and they were wrong: this file failed, the connection is fine.
        if ((error as { _tag?: string })._tag !== 'ChecksumMismatch') throw error
        outcome = { ok: false, name, error: error as ChecksumMismatch }
      }
    } else {
      const refused = refusal(first, { verb: 'download', name })
      if (refused.ok || refused.error._tag === 'ProtocolViolation') throw refused.ok ? new ProtocolViolation({ detail: 'unexpected reply from server' }) : refused.error
      outcome = { ok: false, name, error: refused.error }
    }
    outcomes.push(outcome)
    listener.onFile?.(index, outcome)
  }
  return outcomes
}

/** The client session machine doing this connection's I/O. */
export const createClientLogic = (connection: ClientConnection, folders: ClientFolders, listener: ManyListener = {}) => {
  // The kept part of the download being resumed, hashed in `resuming` for `downloading`.
  let resumed: ParallelHash | undefined
  return defineClientSession({
    actors: {
      findPartial: fromPromise(({ input }) => findPartial(folders.downloads, input.name)),
      resumePartial: fromPromise(async ({ input }) => {
        resumed?.destroy()
        resumed = undefined
        const hash = new ParallelHash()
        await hashFilePrefix(partialPaths(folders.downloads, input.name).part, input.verified.from, hash).catch((cause: unknown) => {
          hash.destroy()
          throw new StorageFailure({ operation: `read the kept part of ${input.name}`, cause })
        })
        resumed = hash
      }),
      readLine: fromPromise(({ signal }) => connection.readLine(signal)),
      readListing: fromPromise(({ signal }) => readListing(connection, signal)),
      readFeatures: fromPromise(({ signal }) => readFeatures(connection, signal)),
      receiveMany: fromPromise(({ input, signal }) => receiveMany(connection, folders, input.names, listener, signal)),
      sendMany: fromPromise(({ input, signal }) => sendMany(connection, folders, input.names, listener, signal)),
      statUpload: fromPromise(({ input, signal }) => runForActor(statUpload(folders, input.name), signal)),
      receiveFile: fromPromise(async ({ input, signal }) => {
        // A size the folder cannot hold (a full disk, or a server announcing petabytes) fails before any byte is written.
        checkLocalSpace(folders.downloads, input.size - (input.verified?.from ?? 0))
        if (!input.verified) return runForActor(receiveFile(connection, folders, input), signal)
        // A kept part of this name (the file changed since) is replaced and cleaned up by the resumable path.
        if (input.verified.from === 0 && input.verified.size < RESUMABLE_BYTES && !input.keptPart) return receiveSmallVerified(connection, folders, input.name, input.verified)
        const hash = resumed
        resumed = undefined
        return runForActor(receiveVerified(connection, folders, input.name, input.verified, hash), signal)
      }),
      sendFile: fromPromise(async ({ input, signal }) => {
        const started = Date.now()
        const hash = input.hash ? hashFor(input.size) : undefined
        const file = path.join(folders.uploads, input.name)
        try {
          // Continuing an upload the server kept: the bytes it holds are hashed here too, not sent again.
          if (hash && input.from > 0) {
            await hashFilePrefix(file, input.from, hash).catch((cause: unknown) => {
              throw new StorageFailure({ operation: `read ${file}`, cause })
            })
          }
          await connection.sendFromFile(file, input.size - input.from, signal, hash, input.from)
          const sha256 = await hash?.digest()
          return { bytes: input.size - input.from, durationMs: Date.now() - started, ...(sha256 ? { sha256 } : {}) }
        } finally {
          hash?.destroy()
        }
      }),
    },
    send: (_, { line }) => connection.write(line),
    closeConnection: () => connection.close(),
  })
}
