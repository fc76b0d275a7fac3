import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

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
