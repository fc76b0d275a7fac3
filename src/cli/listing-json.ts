import type { FileEntry } from '../protocol/index.js'

export interface FileJson {
  name: string
  size: number
  modified: string
  sha256?: string
}

export const listingJson = (entries: readonly FileEntry[]): FileJson[] =>
  entries.map((e) => ({ name: e.name, size: e.size, modified: new Date(e.mtimeMs).toISOString(), ...(e.sha256 ? { sha256: e.sha256 } : {}) }))
