import * as fs from 'node:fs/promises'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { NoSpace, StorageFailure } from '../errors.js'
import { startBackgroundHashing } from './background-hashes.js'
import { FolderCatalog } from './catalog.js'
import { chunkBytesFor } from './chunks.js'
import { HashCache, type HashFile } from './hashes.js'
import { createSmallUploadTarget, createUploadTarget, freeBytes, SMALL_UPLOAD_BYTES, nameTaken, openForReading, openServedFolder, placeFile } from './folder.js'
import { openKeptUpload, sweepKeptUploads } from './kept-uploads.js'
import { Storage, type StorageService, type UploadTarget } from './storage.js'

/**
 * The local folder: the default store. Downloads are open descriptors (read
 * straight into the socket), uploads hidden temporary files renamed into place,
 * listings come from the in-memory catalog kept fresh by an inotify watch.
 * Changes made in the folder by hand show in the next listing (staleness 0).
 */
export const makeFolderStorage = (dir: string, options: FolderOptions = {}) =>
  Effect.gen(function* () {
    const folder = yield* openServedFolder(dir)
    // Cut uploads kept for their owner to continue: too old ones go at start, then every hour at most.
    const keepMs = options.keepPartialMs ?? DEFAULT_KEEP_PARTIAL_MS
    const sweep = () => sweepKeptUploads(folder, keepMs).then((n) => n > 0 && options.log?.(`removed ${n} kept partial upload(s) older than ${Math.round(keepMs / 1000)} s`))
    yield* Effect.promise(sweep)
    yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(() => void sweep(), Math.max(1000, Math.min(keepMs, 3600_000))).unref()),
      (timer) => Effect.sync(() => clearInterval(timer)),
    )
    const catalog = yield* Effect.acquireRelease(
      Effect.sync(() => new FolderCatalog(folder)),
      (catalog) => Effect.sync(() => catalog.close()),
    )
    const hashes = new HashCache(options.hashFile)
    yield* Effect.acquireRelease(
      Effect.sync(() => startBackgroundHashing(catalog, (name) => openForReading(folder, name), hashes, options.backgroundHashing)),
      (hashing) => Effect.sync(() => hashing.close()),
    )
    const space = freeSpaceCheck(folder)
    const service: StorageService = {
      location: folder.root,
      staleness: 0,
      list: (search) =>
        Effect.tryPromise({ try: () => catalog.list(search), catch: (cause) => new StorageFailure({ operation: 'list the folder', cause }) }),
      openForReading: (name) => openForReading(folder, name),
      createUpload: (name, size, options) =>
        Effect.gen(function* () {
          const available = yield* space.available(size)
          if (available !== undefined && size > available) return yield* Effect.fail(new NoSpace({ needed: size, available }))
          const stored = (version: string, known: { readonly sha256: string } | undefined) => {
            catalog.changed(name)
            if (known) hashes.remember(version, known.sha256)
          }
          if (options.resume) {
            const kept = yield* openKeptUpload(folder, { ...options.resume, name, size }, chunkBytesFor(size))
            const target: UploadTarget = {
              from: kept.from,
              ...(kept.prefix ? { prefix: kept.prefix } : {}),
              sink: kept.sink,
              discard: Effect.promise(async () => {
                kept.sink.destroy()
                await fs.rm(kept.partPath, { force: true })
                await kept.forget()
              }),
              commit: (known) =>
                Effect.tryPromise({
                  try: async () => {
                    await new Promise<void>((resolve, reject) => {
                      kept.sink.once('error', reject)
                      kept.sink.end(() => (kept.sink.closed ? resolve() : kept.sink.once('close', resolve)))
                    })
                    const { version } = await placeFile(folder, kept.partPath, name, options.replace)
                    await kept.forget()
                    stored(version, known)
                  },
                  catch: (cause) => new StorageFailure({ operation: `store ${name}`, cause }),
                }),
            }
            return target
          }
          const target = yield* (options.whole && size <= SMALL_UPLOAD_BYTES ? createSmallUploadTarget(folder, name, size, options) : createUploadTarget(folder, name, chunkBytesFor(size), { ...options, size }))
          return {
            from: 0,
            sink: target.sink,
            // The scope removes the temporary file when it closes without a commit.
            discard: Effect.void,
            commit: (known) => target.commit.pipe(Effect.map(({ version }) => stored(version, known))),
          } satisfies UploadTarget
        }),
      nameTaken: (name) => nameTaken(folder, name),
      sha256: (file, content) => hashes.of(file, content),
    }
    return service
  })

export interface FolderOptions {
  /** How long a cut upload is kept for its owner to continue (default a day). */
  readonly keepPartialMs?: number
  readonly log?: (line: string) => void
  /** Background hashing: called with each name hashed (tests wait on it); how long a changed file must be quiet first. */
  readonly backgroundHashing?: { readonly onHashed?: (name: string) => void; readonly quietMs?: number }
  /** How a file's SHA-256 is computed (served files, once per version): on the event loop unless given (a server gives its hash worker's). */
  readonly hashFile?: HashFile
}

export const DEFAULT_KEEP_PARTIAL_MS = 24 * 3600_000

export const folderStorage = (dir: string, options?: FolderOptions): Layer.Layer<Storage, StorageFailure> => Layer.scoped(Storage, makeFolderStorage(dir, options))

/**
 * The folder's free space for an upload of `size` bytes: asked of the file system for
 * every large upload, and at most once a second for small ones (a batch of a thousand
 * small uploads asked a thousand times; a full disk still fails their write).
 */
const freeSpaceCheck = (folder: Parameters<typeof freeBytes>[0]) => {
  let known: { bytes: number | undefined; at: number } | undefined
  return {
    available: (size: number) =>
      size <= SMALL_UPLOAD_BYTES && known && Date.now() - known.at < 1000
        ? Effect.succeed(known.bytes)
        : freeBytes(folder).pipe(Effect.tap((bytes) => Effect.sync(() => (known = { bytes, at: Date.now() })))),
  }
}
