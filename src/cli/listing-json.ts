import type { FileEntry } from '../protocol/index.js'

export interface FileJson {
  name: string
  size: number
  modified: string
}

export const listingJson = (entries: readonly FileEntry[]): FileJson[] =>
  entries.map((e) => ({ name: e.name, size: e.size, modified: new Date(e.mtimeMs).toISOString() }))
