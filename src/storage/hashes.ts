import { createHash } from 'node:crypto'
import * as Effect from 'effect/Effect'
import { StorageFailure } from '../errors.js'
import { readAt } from './read-whole.js'
import type { OpenedFile } from './storage.js'

const READ_BYTES = 1 << 20
/** Versions whose hash is kept (64 bytes of hex and a key each: a few MiB at most). */
const MAX_KEPT = 100_000


/** Computes the SHA-256 of `size` bytes of an open descriptor (hex), by positional reads (its offset is not moved). */
export type HashFile = (fd: number, size: number) => Promise<string>

/** SHA-256 of `size` bytes of an open descriptor, by positional reads, on this thread (what a server passes instead: its hash worker's). */
export const hashDescriptor: HashFile = async (fd, size) => {
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, size)))
  for (let at = 0; at < size; ) {
    // Never past `size`: a file that grew since it was opened is served, and so hashed, as it was then.
    const n = await readAt(fd, buffer.subarray(0, Math.min(buffer.length, size - at)), at)
    if (n === 0) throw new Error(`the file ended at ${at} of ${size} bytes while it was hashed`)
    hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
    at += n
  }
  return hash.digest('hex')
}

/**
 * The SHA-256 of stored files, computed once per version (`OpenedFile.version`)
 * and kept, oldest forgotten first beyond MAX_KEPT. Concurrent requests for one
 * version share one computation. A store that keeps hashes with its files
 * (`OpenedFile.sha256`) is never read for one.
 */
export class HashCache {
  private readonly kept = new Map<string, string>()
  private readonly computing = new Map<string, Promise<string>>()

  /** `hashFile` hashes a descriptor's bytes: on this thread unless told otherwise. */
  constructor(private readonly hashFile: HashFile = hashDescriptor) {}

  of(file: OpenedFile, content?: Uint8Array): Effect.Effect<string, StorageFailure> {
    if (file.sha256) return Effect.succeed(file.sha256)
    const known = this.kept.get(file.version)
    if (known) return Effect.succeed(known)
    if (content && content.length === file.size)
      return Effect.sync(() => {
        const sha256 = createHash('sha256').update(content).digest('hex')
        this.remember(file.version, sha256)
        return sha256
      })
    return Effect.tryPromise({ try: () => this.compute(file), catch: (cause) => new StorageFailure({ operation: 'hash the file', cause }) })
  }

  /** Records a hash known otherwise (computed while an upload was received). */
  remember(version: string, sha256: string): void {
    this.kept.delete(version)
    this.kept.set(version, sha256)
    if (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!)
  }

  private compute(file: OpenedFile): Promise<string> {
    let running = this.computing.get(file.version)
    if (!running) {
      running = (file.kind === 'descriptor' ? this.hashFile(file.fd, file.size) : hashStream(file))
        .then((sha) => (this.remember(file.version, sha), sha))
        .finally(() => this.computing.delete(file.version))
      this.computing.set(file.version, running)
    }
    return running
  }
}

const hashStream = (file: Extract<OpenedFile, { kind: 'stream' }>): Promise<string> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const stream = yield* file.open(0)
        return yield* Effect.promise(async () => {
          const hash = createHash('sha256')
          for await (const chunk of stream) hash.update(chunk as Buffer)
          return hash.digest('hex')
        })
      }),
    ),
  )
