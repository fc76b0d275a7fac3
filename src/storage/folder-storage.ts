import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { NoSpace, StorageFailure } from '../errors.js'
import { FolderCatalog } from './catalog.js'
import { chunkBytesFor } from './chunks.js'
import { HashCache } from './hashes.js'
import { createUploadTarget, freeBytes, nameTaken, openForReading, openServedFolder } from './folder.js'
import { Storage, type StorageService } from './storage.js'

/**
 * The local folder: the default store. Downloads are open descriptors (read
 * straight into the socket), uploads hidden temporary files renamed into place,
 * listings come from the in-memory catalog kept fresh by an inotify watch.
 * Changes made in the folder by hand show in the next listing (staleness 0).
 */
export const makeFolderStorage = (dir: string) =>
  Effect.gen(function* () {
    const folder = yield* openServedFolder(dir)
    const catalog = yield* Effect.acquireRelease(
      Effect.sync(() => new FolderCatalog(folder)),
      (catalog) => Effect.sync(() => catalog.close()),
    )
    const hashes = new HashCache()
    const service: StorageService = {
      location: folder.root,
      staleness: 0,
      list: (search) =>
        Effect.tryPromise({ try: () => catalog.list(search), catch: (cause) => new StorageFailure({ operation: 'list the folder', cause }) }),
      openForReading: (name) => openForReading(folder, name),
      createUpload: (name, size, options) =>
        Effect.gen(function* () {
          const available = yield* freeBytes(folder)
          if (available !== undefined && size > available) return yield* Effect.fail(new NoSpace({ needed: size, available }))
          const target = yield* createUploadTarget(folder, name, chunkBytesFor(size), options)
          return {
            sink: target.sink,
            commit: (known) =>
              target.commit.pipe(
                Effect.map(({ version }) => {
                  catalog.changed(name)
                  if (known) hashes.remember(version, known.sha256)
                }),
              ),
          }
        }),
      nameTaken: (name) => nameTaken(folder, name),
      sha256: (file) => hashes.of(file),
    }
    return service
  })

export const folderStorage = (dir: string): Layer.Layer<Storage, StorageFailure> => Layer.scoped(Storage, makeFolderStorage(dir))
