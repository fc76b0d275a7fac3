import * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import type { FileNotFound, StorageFailure } from '../errors.js'
import type { FolderCatalog } from './catalog.js'
import type { HashCache } from './hashes.js'
import type { OpenedFile } from './storage.js'

/** A file the watch saw change is hashed once it has been left alone this long (a copy in progress fires many events). */
const QUIET_MS = 2000

/**
 * Hashes the served files in the background, one at a time: every file once at start,
 * then each file the folder's watch sees change, once it is quiet. So the first `get`
 * of a file put in the folder by hand (or the first `hashes`) rarely waits for its
 * SHA-256. Hashes are kept per version (HashCache): a file changed meanwhile is simply
 * hashed again, and one already known (an upload hashed on the way in) costs an open.
 */
export const startBackgroundHashing = (
  catalog: FolderCatalog,
  open: (name: string) => Effect.Effect<OpenedFile, FileNotFound | StorageFailure, Scope.Scope>,
  hashes: HashCache,
  options: { readonly onHashed?: (name: string) => void; readonly quietMs?: number } = {},
) => {
  const queue = new Set<string>()
  const waiting = new Map<string, NodeJS.Timeout>()
  let running = false
  let closed = false

  const hashOne = (name: string) =>
    Effect.runPromise(
      Effect.scoped(Effect.flatMap(open(name), (file) => hashes.of(file))).pipe(
        Effect.catchAll(() => Effect.void),
        Effect.catchAllDefect(() => Effect.void),
      ),
    )

  const drain = async () => {
    if (running) return
    running = true
    try {
      for (let name = first(queue); name !== undefined && !closed; name = first(queue)) {
        queue.delete(name)
        await hashOne(name)
        options.onHashed?.(name)
        // Whatever else the server has to do goes first.
        await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      running = false
    }
  }

  const enqueueAll = () =>
    catalog.list().then(
      (entries) => {
        for (const entry of entries) queue.add(entry.name)
        void drain()
      },
      () => undefined,
    )

  const onStale = (name: string | undefined) => {
    if (closed) return
    if (name === undefined) return void enqueueAll()
    clearTimeout(waiting.get(name))
    const timer = setTimeout(() => {
      waiting.delete(name)
      queue.add(name)
      void drain()
    }, options.quietMs ?? QUIET_MS)
    timer.unref()
    waiting.set(name, timer)
  }

  catalog.on('stale', onStale)
  void enqueueAll()
  return {
    close: () => {
      closed = true
      catalog.off('stale', onStale)
      for (const timer of waiting.values()) clearTimeout(timer)
      waiting.clear()
      queue.clear()
    },
  }
}

const first = (set: Set<string>): string | undefined => set.values().next().value
