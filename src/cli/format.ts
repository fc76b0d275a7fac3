import * as path from 'node:path'
import type { FileEntry } from '../protocol/index.js'
import { visible } from '../protocol/names.js'
import { formatBytes, formatDuration, formatRate } from '../text/units.js'

export { formatBytes, formatDuration, formatRate } from '../text/units.js'

const pad2 = (n: number) => String(n).padStart(2, '0')

/** Local time, to the minute: what a person wants in a table. */
export const formatTime = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** A listing as an aligned table, sizes right-aligned, with a count line. Names are shown with control characters made visible. */
export const formatListing = (entries: readonly FileEntry[], emptyMessage = 'No files.'): string[] => {
  if (entries.length === 0) return [emptyMessage]
  let nameWidth = 4
  let sizeWidth = 4
  let total = 0
  const rows = entries.map((e) => {
    const row = [visible(e.name), formatBytes(e.size), formatTime(e.mtimeMs)] as const
    nameWidth = Math.max(nameWidth, row[0].length)
    sizeWidth = Math.max(sizeWidth, row[1].length)
    total += e.size
    return row
  })
  const line = (name: string, size: string, modified: string) =>
    `${name.padEnd(nameWidth)}  ${size.padStart(sizeWidth)}  ${modified}`
  const out = [line('NAME', 'SIZE', 'MODIFIED')]
  for (const r of rows) out.push(line(r[0], r[1], r[2]))
  out.push(`${entries.length} file${entries.length === 1 ? '' : 's'}, ${formatBytes(total)}`)
  return out
}

export interface TransferSummary {
  readonly direction: 'download' | 'upload'
  readonly name: string
  readonly bytes: number
  readonly durationMs: number
}

/** "Downloaded a.bin (1.0 GiB) to tor-files/Downloads/a.bin in 1.2 s, 850 MiB/s" */
export const describeTransfer = (transfer: TransferSummary, downloadsDir: string): string => {
  const { direction, name, bytes, durationMs } = transfer
  const shown = visible(name)
  const what = direction === 'download' ? `Downloaded ${shown} (${formatBytes(bytes)}) to ${visible(path.join(downloadsDir, name))}` : `Uploaded ${shown} (${formatBytes(bytes)}) to the server`
  return `${what} in ${formatDuration(durationMs)}, ${formatRate(bytes, durationMs)}`
}
