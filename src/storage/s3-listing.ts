import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { isValidName, type FileEntry } from '../protocol/index.js'
import { compareCodePoints } from './catalog.js'

/**
 * The bucket's listing under the prefix, cached, and fetched (paged ListObjectsV2;
 * concurrent listings share one fetch) when it is older than `ttlMs`:
 * - a listing waits up to `freshWaitMs` for that fetch, so on a bucket that lists
 *   within that time a file another server uploaded shows in every listing that
 *   starts `ttlMs` after its upload completed;
 * - on a bucket that takes longer (100,000 objects are 100 round trips), the
 *   listing is answered from the cache and the fetch goes on for the next one:
 *   the delay is then `ttlMs` plus one fetch;
 * - with nothing cached yet, it waits, reporting the objects seen so far. The
 *   first fetch starts when the server starts.
 * This server's own uploads show at once: they are applied to the cache, and
 * again on top of a fetch that was already running.
 */
export class BucketListing {
  private entries = new Map<string, FileEntry>()
  private sorted: FileEntry[] | undefined
  private fetchedAt = Number.NEGATIVE_INFINITY
  private fetching: Promise<void> | undefined
  private readonly watchers = new Set<(seen: number) => void>()
  private readonly ownChanges: Array<{ readonly at: number; readonly entry: FileEntry }> = []

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly freshWaitMs: number,
  ) {}

  async list(search?: string, onProgress?: (seen: number) => void): Promise<readonly FileEntry[]> {
    if (Date.now() - this.fetchedAt > this.ttlMs) {
      if (onProgress) this.watchers.add(onProgress)
      try {
        const fetched = this.refresh()
        if (this.fetchedAt === Number.NEGATIVE_INFINITY) await fetched
        // With a listing cached, a failed fetch is not worth failing the command: the next listing tries again.
        else await Promise.race([fetched.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, this.freshWaitMs).unref())])
      } finally {
        if (onProgress) this.watchers.delete(onProgress)
      }
    }
    const sorted = (this.sorted ??= [...this.entries.values()].sort((a, b) => compareCodePoints(a.name, b.name)))
    return search === undefined ? sorted : sorted.filter((entry) => entry.name.includes(search))
  }

  /** Starts a fetch unless one is running; resolves when it is done. */
  refresh(): Promise<void> {
    return (this.fetching ??= this.fetch().finally(() => (this.fetching = undefined)))
  }

  uploaded(entry: FileEntry): void {
    this.ownChanges.push({ at: Date.now(), entry })
    this.entries.set(entry.name, entry)
    this.sorted = undefined
  }

  private async fetch(): Promise<void> {
    const started = Date.now()
    const found = new Map<string, FileEntry>()
    let token: string | undefined
    let seen = 0
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, Delimiter: '/', ContinuationToken: token }),
      )
      for (const object of page.Contents ?? []) {
        seen++
        const name = object.Key?.slice(this.prefix.length)
        if (name === undefined || !isValidName(name)) continue
        found.set(name, { name, size: object.Size ?? 0, mtimeMs: object.LastModified?.getTime() ?? 0 })
      }
      for (const watcher of this.watchers) watcher(seen)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    // Uploads this server committed while the fetch ran may be missing from its pages.
    const recent = this.ownChanges.filter((change) => change.at >= started)
    for (const { entry } of recent) found.set(entry.name, entry)
    this.ownChanges.length = 0
    this.ownChanges.push(...recent)
    this.entries = found
    this.sorted = undefined
    this.fetchedAt = started
  }
}
