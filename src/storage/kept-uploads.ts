import { createHash } from 'node:crypto'
import { createReadStream, type WriteStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import { StorageFailure } from '../errors.js'
import { scopedWriteStream, type ServedFolder } from './folder.js'

/**
 * Uploads that were cut, kept in the served folder under hidden names (never
 * listed or served) so that their owner can continue them: one part file and one
 * description each, named after a hash of owner, name, size and the client's key
 * for its file, so another account's upload of the same name is another part. A
 * part older than `keepMs` is removed by `sweepKeptUploads`.
 */
export const KEPT_PREFIX = '.tor-keep-'

interface KeptMeta {
  readonly owner: string
  readonly name: string
  readonly size: number
  readonly key: string
  readonly created: number
}

const failure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })

const keptPaths = (folder: ServedFolder, id: { owner: string; name: string; size: number; key: string }) => {
  const hash = createHash('sha256').update(`${id.owner}\0${id.name}\0${id.size}\0${id.key}`).digest('hex').slice(0, 40)
  return { part: path.join(folder.root, `${KEPT_PREFIX}${hash}.part`), meta: path.join(folder.root, `${KEPT_PREFIX}${hash}.json`) }
}

const readMeta = async (file: string): Promise<KeptMeta | undefined> => {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as KeptMeta
  } catch {
    return undefined
  }
}

export interface KeptUpload {
  readonly from: number
  readonly prefix?: () => AsyncIterable<Uint8Array>
  readonly sink: WriteStream
  readonly partPath: string
  /** The description goes once the part is stored or dropped. */
  readonly forget: () => Promise<void>
}

/**
 * Opens the kept part of this owner's upload (name, size, key) to continue it, or
 * starts a new one. Closing the scope closes the file and keeps both: what
 * arrived stays until the upload is continued, stored, dropped, or too old.
 */
export const openKeptUpload = (
  folder: ServedFolder,
  id: { readonly owner: string; readonly name: string; readonly size: number; readonly key: string },
  highWaterMark: number,
): Effect.Effect<KeptUpload, StorageFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const paths = keptPaths(folder, id)
    const from = yield* Effect.tryPromise({
      try: async () => {
        const meta = await readMeta(paths.meta)
        const stats = await fs.lstat(paths.part).catch(() => undefined)
        const same = meta && meta.owner === id.owner && meta.name === id.name && meta.size === id.size && meta.key === id.key
        if (same && stats?.isFile() && stats.size <= id.size) return stats.size
        const fresh: KeptMeta = { ...id, created: Date.now() }
        await fs.writeFile(paths.meta, JSON.stringify(fresh), { mode: 0o600 })
        await fs.writeFile(paths.part, new Uint8Array(0), { mode: 0o644 })
        return 0
      },
      catch: failure(`prepare the kept upload of ${id.name}`),
    })
    const sink = yield* scopedWriteStream(paths.part, { flags: 'r+', start: from, highWaterMark }, 'end', `open the kept upload of ${id.name}`)
    return {
      from,
      ...(from > 0 ? { prefix: () => createReadStream(paths.part, { start: 0, end: from - 1, highWaterMark: 1 << 20 }) } : {}),
      sink,
      partPath: paths.part,
      forget: () => fs.rm(paths.meta, { force: true }),
    }
  })

/** Removes kept uploads older than `keepMs`, and parts whose description is gone. Returns how many went. */
export const sweepKeptUploads = async (folder: ServedFolder, keepMs: number): Promise<number> => {
  const names = await fs.readdir(folder.root).catch(() => [] as string[])
  const now = Date.now()
  let removed = 0
  for (const name of names.filter((n) => n.startsWith(KEPT_PREFIX))) {
    const full = path.join(folder.root, name)
    if (name.endsWith('.json')) {
      const meta = await readMeta(full)
      if (meta && now - meta.created < keepMs) continue
      await fs.rm(full.replace(/\.json$/, '.part'), { force: true })
      await fs.rm(full, { force: true })
      removed++
    } else if (name.endsWith('.part') && !names.includes(name.replace(/\.part$/, '.json'))) {
      await fs.rm(full, { force: true })
    }
  }
  return removed
}
