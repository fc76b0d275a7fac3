import type { Readable, Writable } from 'node:stream'
import * as Context from 'effect/Context'
import type * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import type { FileEntry } from '../protocol/index.js'
import type { FileNotFound, NoSpace, StorageFailure } from '../errors.js'

/**
 * The bytes of one stored file, open for reading. `size` is the size of exactly
 * the version that was opened: the bytes read are that many, even if the name is
 * replaced meanwhile. A local file is a descriptor (the fast path: positioned reads
 * straight into the socket); any other store gives a stream.
 */
export type OpenedFile = (
  | { readonly kind: 'descriptor'; readonly fd: number }
  | {
      readonly kind: 'stream'
      /** The opened version's bytes from `offset` to the end, in the caller's scope. */
      readonly open: (offset: number) => Effect.Effect<Readable, StorageFailure, Scope.Scope>
    }
) & {
  readonly size: number
  readonly mtimeMs: number
  /** Names this version of the file's content (a changed file gets another): the key of its cached hash. */
  readonly version: string
  /** The content's SHA-256 (hex), when the store keeps it with the file. */
  readonly sha256?: string
}

/** An upload in progress: write its bytes (from `from` on) to `sink`, then `commit`, or `discard`. */
export interface UploadTarget {
  /** Bytes of this upload the store already holds, kept from a try that was cut (0: none). */
  readonly from: number
  /** Those bytes, for the hash of the whole upload (absent when `from` is 0). */
  readonly prefix?: () => AsyncIterable<Uint8Array>
  /** Takes the upload's bytes. A chunk written is the caller's again once its write callback has run (to fill again). */
  readonly sink: Writable
  /** Drops what was written, even where a cut would have kept it to resume. */
  readonly discard: Effect.Effect<void>
  /**
   * Makes the upload visible under its name, all at once. The SHA-256 of its bytes,
   * when known (hashed as they arrived), is kept for the version stored: no second read.
   */
  readonly commit: (known?: { readonly sha256: string }) => Effect.Effect<void, StorageFailure>
}

/**
 * Where the served files live. The session machines, the codec and the CLI see
 * only this; Layers provide it (the local folder, S3, memory). The contract, which
 * `test/storage/contract.ts` checks against every layer:
 *
 * - Names are the protocol's valid names (`isValidName`), mapped 1:1 to what the
 *   store holds; anything stored under a name that is not valid is never listed,
 *   opened or counted as a file.
 * - `list(search, onProgress)`: the stored files whose name contains `search`,
 *   sorted by code point. An upload committed through this service is in the next
 *   listing; a change made by someone else (another server, a person in the folder)
 *   is in every listing that starts `staleness` milliseconds after it or later
 *   (S3: for a bucket that lists within a second; a larger one may take one more
 *   listing's time). A listing that has to wait for the store calls `onProgress`
 *   as it goes (objects seen so far), so a long wait is not taken for a stall.
 * - `openForReading(name)`: in the caller's scope (closing it releases the file);
 *   FileNotFound when no stored file has that name. The size is the opened version's.
 * - `createUpload(name, size, {replace})`: in the caller's scope. Nothing is
 *   visible under the name before `commit` succeeds; when the scope closes without
 *   a commit (failure, interruption, a client gone), everything written is
 *   discarded. With `replace: false` the commit fails, rather than replace a file
 *   that took the name meanwhile (where the store can tell; see each layer). Fails
 *   with NoSpace before anything is written when the store knows it cannot hold
 *   `size` bytes. With `resume`, a store that can keeps a cut upload (hidden,
 *   never listed or served) for the same owner, name, size and key, and the next
 *   such upload starts at `from`; another owner never sees it.
 * - `nameTaken(name)`: something holds the name (a file, or anything an upload
 *   could not replace).
 * - `sha256(file, content?)`: the SHA-256 of an opened file's whole content, computed
 *   once per version and kept while the server runs; `content`, when the caller has
 *   read the whole (small) file already, is hashed instead of reading it again.
 * - Errors are StorageFailure (its public message never names a path or a key) or
 *   the tagged errors above.
 */
export interface StorageService {
  /** For the operator's log: a folder's real path, or `s3://bucket/prefix`. */
  readonly location: string
  /** How late, at most, a change made by someone else shows in a listing (0: at once). */
  readonly staleness: number
  readonly list: (search?: string, onProgress?: (seen: number) => void) => Effect.Effect<readonly FileEntry[], StorageFailure>
  readonly openForReading: (name: string) => Effect.Effect<OpenedFile, FileNotFound | StorageFailure, Scope.Scope>
  readonly createUpload: (
    name: string,
    size: number,
    options: {
      readonly replace: boolean
      /**
       * Keep what arrived when the scope closes without a commit, for `owner` to continue the same upload
       * (same name, size and `key`) later; where the store can (the local folder), for `keepMs`.
       */
      readonly resume?: { readonly owner: string; readonly key: string }
      /**
       * The bytes follow at once (a store): where the store can, a small upload is gathered in memory
       * and written whole at the commit (a failure to create it then shows at the commit, not before).
       */
      readonly whole?: boolean
    },
  ) => Effect.Effect<UploadTarget, NoSpace | StorageFailure, Scope.Scope>
  readonly nameTaken: (name: string) => Effect.Effect<boolean, StorageFailure>
  readonly sha256: (file: OpenedFile, content?: Uint8Array) => Effect.Effect<string, StorageFailure>
}

export class Storage extends Context.Tag('tor/Storage')<Storage, StorageService>() {}
