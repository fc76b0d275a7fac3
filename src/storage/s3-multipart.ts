import { createHash } from 'node:crypto'
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type CreateMultipartUploadCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { isAlive } from './pids.js'

export interface JournaledUpload {
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
}

/**
 * The multipart uploads this server has started and not yet completed or aborted,
 * one small file each in its state folder. A server killed mid-upload finds its
 * own leftovers here at its next start and aborts them on S3; it never touches
 * another server's uploads in progress (S3 cannot say which server started one).
 */
export class UploadJournal {
  constructor(readonly dir: string) {}

  /**
   * Claims the journal for this process until `release`: a second server on the same
   * state folder would take the first one's uploads in progress for leftovers.
   * A claim whose process is gone is taken over. Fails with a reason in words.
   */
  async claim(): Promise<{ readonly release: () => Promise<void> } | { readonly problem: string }> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 })
    const lock = path.join(this.dir, 'server.pid')
    // A pid file with this process's own pid is another server in this process, or a leftover of a dead
    // process that had the same pid (pid 1 in a container): the set tells which.
    if (claimedHere.has(lock)) return { problem: `another Tor server in this process uses the state folder ${path.dirname(this.dir)}: give each server its own --state-dir` }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 })
        claimedHere.add(lock)
        return {
          release: async () => {
            claimedHere.delete(lock)
            await fs.rm(lock, { force: true })
          },
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const pid = Number(await fs.readFile(lock, 'utf8').catch(() => ''))
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          return { problem: `another Tor server (pid ${pid}) uses the state folder ${path.dirname(this.dir)}: give each server its own --state-dir` }
        }
        await fs.rm(lock, { force: true })
      }
    }
    return { problem: `could not claim the state folder ${path.dirname(this.dir)}` }
  }

  private fileOf(uploadId: string): string {
    return path.join(this.dir, `${createHash('sha256').update(uploadId).digest('hex').slice(0, 32)}.json`)
  }

  async add(upload: JournaledUpload): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 })
    await fs.writeFile(this.fileOf(upload.uploadId), JSON.stringify(upload), { mode: 0o600 })
  }

  async remove(uploadId: string): Promise<void> {
    await fs.rm(this.fileOf(uploadId), { force: true })
  }

  /** What a previous run left behind (unreadable entries are dropped). */
  async leftovers(): Promise<JournaledUpload[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[])
    const found: JournaledUpload[] = []
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const text = await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => undefined)
      try {
        const entry = JSON.parse(text ?? '') as JournaledUpload
        if (typeof entry.bucket === 'string' && typeof entry.key === 'string' && typeof entry.uploadId === 'string') found.push(entry)
        else await fs.rm(path.join(this.dir, name), { force: true })
      } catch {
        await fs.rm(path.join(this.dir, name), { force: true })
      }
    }
    return found
  }
}

const claimedHere = new Set<string>()


/** Writes every multipart upload `client` starts to the journal, before its first part is sent. */
export const journalMultipartUploads = (client: S3Client, journal: UploadJournal): void => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args)
      if (context.commandName === 'CreateMultipartUploadCommand') {
        const output = result.output as CreateMultipartUploadCommandOutput
        const input = args.input as { Bucket: string; Key: string }
        if (output.UploadId) await journal.add({ bucket: input.Bucket, key: input.Key, uploadId: output.UploadId })
      }
      return result
    },
    { step: 'initialize', name: 'torUploadJournal' },
  )
}

/** Aborts a multipart upload (one already gone is fine) and forgets it. */
export const abortMultipartUpload = (client: S3Client, journal: UploadJournal, upload: JournaledUpload): Promise<void> =>
  client
    .send(new AbortMultipartUploadCommand({ Bucket: upload.bucket, Key: upload.key, UploadId: upload.uploadId }))
    .catch((error: unknown) => ((error as { name?: string }).name === 'NoSuchUpload' ? undefined : Promise.reject(error)))
    .then(() => journal.remove(upload.uploadId))

const ageInWords = (ms: number) => (ms >= 3600_000 ? `${Math.round(ms / 3600_000)} h` : `${Math.round(ms / 1000)} s`)

const isNotImplemented = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NotImplemented' || e?.$metadata?.httpStatusCode === 501 || e?.$metadata?.httpStatusCode === 405
}

/**
 * At start: aborts what this server's previous run left unfinished (its journal),
 * then any multipart upload under the prefix older than `abandonAfterMs`, whoever
 * started it (a host that never came back). Says what it did through `log`.
 */
export const cleanUpUnfinishedUploads = async (
  client: S3Client,
  journal: UploadJournal,
  where: { readonly bucket: string; readonly prefix: string; readonly abandonAfterMs: number; readonly log: (line: string) => void },
): Promise<void> => {
  const { bucket, prefix, log } = where
  let aborted = 0
  for (const upload of await journal.leftovers()) {
    await abortMultipartUpload(client, journal, upload).then(
      () => aborted++,
      (error: unknown) => log(`could not abort an unfinished upload of ${upload.key}: ${(error as Error).message}`),
    )
  }
  if (aborted > 0) log(`aborted ${aborted} multipart upload(s) left unfinished by this server's previous run`)
  aborted = 0
  const cutoff = Date.now() - where.abandonAfterMs
  try {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    do {
      const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || (upload.Initiated?.getTime() ?? Date.now()) >= cutoff) continue
        await abortMultipartUpload(client, journal, { bucket, key: upload.Key, uploadId: upload.UploadId }).then(
          () => aborted++,
          () => undefined,
        )
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined
    } while (keyMarker)
  } catch (error) {
    // A store without ListMultipartUploads: the bucket's lifecycle rule does this job (docs/scale-out.md).
    if (!isNotImplemented(error)) log(`could not list unfinished multipart uploads: ${(error as Error).message}`)
  }
  if (aborted > 0) log(`aborted ${aborted} multipart upload(s) abandoned for more than ${ageInWords(where.abandonAfterMs)}`)
}
