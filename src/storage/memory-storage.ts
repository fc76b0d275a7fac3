import { Readable, Writable } from 'node:stream'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { FileNotFound, NoSpace, StorageFailure } from '../errors.js'
import { isValidName, type FileEntry } from '../protocol/index.js'
import { compareCodePoints } from './catalog.js'
import { HashCache } from './hashes.js'
import { Storage, type StorageService } from './storage.js'

interface StoredBytes {
  readonly bytes: Buffer
  readonly mtimeMs: number
  readonly version: string
}

let versions = 0

const READ_CHUNK = 64 << 10

/**
 * What an in-memory store holds, by raw name. A test may put anything here behind
 * the service's back, as another server or a person would; names that are not
 * valid are kept but never served, like odd keys in a bucket.
 */
export class MemoryFiles extends Map<string, StoredBytes> {
  /** Stores `content` under `name`; returns the version stored. */
  put(name: string, content: string | Buffer): string {
    const version = `memory:${++versions}`
    this.set(name, { bytes: Buffer.from(content), mtimeMs: Date.now(), version })
    return version
  }
}

/**
 * Files held in memory, for tests: the whole contract with nothing on disk.
 * `capacity` bounds the bytes it holds (NoSpace beyond it).
 */
export const makeMemoryStorage = (options: { readonly capacity?: number; readonly files?: MemoryFiles } = {}) =>
  Effect.sync(() => {
    const files = options.files ?? new MemoryFiles()
    const used = () => [...files.values()].reduce((sum, file) => sum + file.bytes.length, 0)
    const hashes = new HashCache()
    const served = (name: string) => (isValidName(name) ? files.get(name) : undefined)

    const service: StorageService = {
      location: 'memory',
      staleness: 0,
      list: (search) =>
        Effect.sync(() => {
          const entries: FileEntry[] = []
          for (const [name, file] of files) {
            if (!isValidName(name) || (search !== undefined && !name.includes(search))) continue
            entries.push({ name, size: file.bytes.length, mtimeMs: file.mtimeMs })
          }
          return entries.sort((a, b) => compareCodePoints(a.name, b.name))
        }),
      openForReading: (name) =>
        Effect.gen(function* () {
          const file = served(name)
          if (!file) return yield* Effect.fail(new FileNotFound({ name }))
          const { bytes } = file
          const open = (offset: number) =>
            Effect.acquireRelease(
              Effect.sync(() => {
                const chunks = function* () {
                  for (let at = offset; at < bytes.length; at += READ_CHUNK) yield bytes.subarray(at, at + READ_CHUNK)
                }
                return Readable.from(chunks(), { objectMode: false })
              }),
              (stream) => Effect.sync(() => stream.destroy()),
            )
          return { kind: 'stream' as const, open, size: bytes.length, mtimeMs: file.mtimeMs, version: file.version }
        }),
      createUpload: (name, size, { replace }) =>
        Effect.gen(function* () {
          if (options.capacity !== undefined && used() + size > options.capacity) {
            return yield* Effect.fail(new NoSpace({ needed: size, available: Math.max(0, options.capacity - used()) }))
          }
          const chunks: Buffer[] = []
          const sink = yield* Effect.acquireRelease(
            Effect.sync(
              () =>
                new Writable({
                  write(chunk: Buffer, _encoding, callback) {
                    chunks.push(Buffer.from(chunk))
                    callback()
                  },
                }),
            ),
            (sink) => Effect.sync(() => sink.destroy()),
          )
          const commit = (known?: { readonly sha256: string }) =>
            Effect.gen(function* () {
              yield* Effect.async<void>((resume) => void sink.end(() => resume(Effect.void)))
              if (!replace && files.has(name)) {
                return yield* Effect.fail(new StorageFailure({ operation: `store ${name}`, cause: Object.assign(new Error('name taken'), { code: 'EEXIST' }) }))
              }
              const data = Buffer.concat(chunks)
              if (data.length !== size) return yield* Effect.fail(new StorageFailure({ operation: `store ${name}`, cause: new Error(`${data.length} of ${size} bytes arrived`) }))
              const version = files.put(name, data)
              if (known) hashes.remember(version, known.sha256)
            })
          // Nothing is kept to resume here: a cut upload starts again from 0.
          return { from: 0, sink, discard: Effect.void, commit }
        }),
      nameTaken: (name) => Effect.sync(() => files.has(name)),
      sha256: (file, content) => hashes.of(file, content),
    }
    return service
  })

export const memoryStorage = (options?: Parameters<typeof makeMemoryStorage>[0]): Layer.Layer<Storage> =>
  Layer.effect(Storage, makeMemoryStorage(options))
