import { EventEmitter } from 'node:events'
import { watch, type FSWatcher } from 'node:fs'
import * as fs from 'node:fs/promises'
import { isValidName, type FileEntry } from '../protocol/index.js'
import { statServed, toEntry, type ServedFolder } from './folder.js'

/** Code-point order (what UTF-8 byte order gives), not UTF-16 code-unit or locale order. */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // A surrogate (an astral code point) sorts after every BMP character above it in UTF-16.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x - y
  }
  return a.length - b.length
}

const STAT_CONCURRENCY = 64

/**
 * The served files, sorted by name, kept in memory so that `show` and `search`
 * do not stat the whole folder per request. An inotify watch (fs.watch) marks
 * names stale when anything changes on disk behind the server's back; stale names
 * are stat-ed again on the next listing. Where watching is not possible, every
 * listing rescans the folder. The server's own uploads call `changed(name)`
 * before replying, so a client sees its upload in the very next listing.
 * It emits `stale` (with the name, or undefined for "rescan") when the watch sees a change.
 */
export class FolderCatalog extends EventEmitter<{ stale: [name: string | undefined] }> {
  private readonly entries = new Map<string, FileEntry>()
  private sorted: FileEntry[] | undefined
  private readonly stale = new Set<string>()
  private scanned = false
  private watcher: FSWatcher | undefined
  private refreshing: Promise<void> | undefined

  constructor(readonly folder: ServedFolder) {
    super()
  }

  /** The served files whose name contains `search` (all when undefined), sorted by name. */
  async list(search?: string): Promise<readonly FileEntry[]> {
    await this.refresh()
    const sorted = (this.sorted ??= [...this.entries.values()].sort((a, b) => compareCodePoints(a.name, b.name)))
    return search === undefined ? sorted : sorted.filter((entry) => entry.name.includes(search))
  }

  /** Marks a name as changed by the server itself (an upload committed). */
  changed(name: string): void {
    this.stale.add(name)
  }

  close(): void {
    this.watcher?.close()
    this.watcher = undefined
  }

  private refresh(): Promise<void> {
    // One refresh at a time; concurrent listings share it.
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined
    })
    return this.refreshing
  }

  private async doRefresh(): Promise<void> {
    if (!this.scanned || this.watcher === undefined) {
      this.startWatching()
      this.stale.clear()
      await this.fullScan()
      this.scanned = this.watcher !== undefined
      return
    }
    if (this.stale.size === 0) return
    const names = [...this.stale]
    this.stale.clear()
    let membershipChanged = false
    await forEachLimited(names, STAT_CONCURRENCY, async (name) => {
      const stats = await statServed(this.folder, name).catch(() => undefined)
      membershipChanged ||= this.entries.has(name) !== (stats !== undefined)
      if (stats) this.entries.set(name, toEntry(name, stats))
      else this.entries.delete(name)
    })
    // Only a name that came or went needs a new sort; new sizes and times keep the order.
    if (membershipChanged) this.sorted = undefined
    else if (this.sorted) this.sorted = this.sorted.map((entry) => this.entries.get(entry.name)!)
  }

  private async fullScan(): Promise<void> {
    const names = (await fs.readdir(this.folder.root)).filter(isValidName)
    const found = new Map<string, FileEntry>()
    await forEachLimited(names, STAT_CONCURRENCY, async (name) => {
      const stats = await statServed(this.folder, name).catch(() => undefined)
      if (stats) found.set(name, toEntry(name, stats))
    })
    this.entries.clear()
    for (const [name, entry] of found) this.entries.set(name, entry)
    this.sorted = undefined
  }

  private startWatching(): void {
    if (this.watcher) return
    try {
      this.watcher = watch(this.folder.root, { persistent: false }, (_event, filename) => {
        const name = filename?.toString()
        // Uploads in progress (hidden temporary files) fire an event per write: they are never served.
        if (name !== undefined && !isValidName(name)) return
        if (name !== undefined) this.stale.add(name)
        else this.scanned = false
        this.emit('stale', name)
      })
      this.watcher.on('error', () => {
        this.close()
        this.scanned = false
      })
    } catch {
      this.watcher = undefined
    }
  }
}

const forEachLimited = async <A>(items: readonly A[], limit: number, f: (a: A) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < items.length) await f(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
