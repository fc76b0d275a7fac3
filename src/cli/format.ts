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
  const long = entries.some((e) => e.sha256 !== undefined)
  const rows = entries.map((e) => {
    const row = [visible(e.name), formatBytes(e.size), formatTime(e.mtimeMs), e.sha256 ?? ''] as const
    nameWidth = Math.max(nameWidth, row[0].length)
    sizeWidth = Math.max(sizeWidth, row[1].length)
    total += e.size
    return row
  })
  const line = (name: string, size: string, modified: string, sha256: string) =>
    `${name.padEnd(nameWidth)}  ${size.padStart(sizeWidth)}  ${long ? `${modified.padEnd(16)}  ${sha256}` : modified}`
  const out = [line('NAME', 'SIZE', 'MODIFIED', 'SHA-256')]
  for (const r of rows) out.push(line(r[0], r[1], r[2], r[3]))
  out.push(`${entries.length} file${entries.length === 1 ? '' : 's'}, ${formatBytes(total)}`)
  return out
}

export interface TransferSummary {
  readonly direction: 'download' | 'upload'
  readonly name: string
  /** Bytes moved by this transfer (after a resume: the rest of the file). */
  readonly bytes: number
  readonly durationMs: number
  readonly verified?: { readonly sha256: string; readonly from: number; readonly restarted: boolean }
}

/**
 * "Downloaded a.bin (1.0 GiB) to tor-files/Downloads/a.bin in 1.2 s, 850 MiB/s, SHA-256 verified"
 * "Downloaded a.bin (1.0 GiB, resumed at 512 MiB) to ... in 0.6 s, 850 MiB/s, SHA-256 verified"
 */
/** ", 1.2 MiB/s", or nothing for what took under a millisecond (no rate can be told: it once said 3 B/s for 3 bytes in 0 ms). */
const rateOf = (bytes: number, durationMs: number): string => (durationMs > 0 ? `, ${formatRate(bytes, durationMs)}` : '')

export const describeTransfer = (transfer: TransferSummary, downloadsDir: string): string => {
  const { direction, name, bytes, durationMs, verified } = transfer
  const shown = visible(name)
  const size = formatBytes(bytes + (verified?.from ?? 0))
  const resumed = verified && verified.from > 0 ? `, resumed at ${formatBytes(verified.from)}` : ''
  const what =
    direction === 'download' ? `Downloaded ${shown} (${size}${resumed}) to ${visible(path.join(downloadsDir, name))}` : `Uploaded ${shown} (${size}${resumed}) to the server`
  const restarted = verified?.restarted ? 'The file had changed on the server since the last try, so it was downloaded again from the start.\n' : ''
  return `${restarted}${what} in ${formatDuration(durationMs)}${rateOf(bytes, durationMs)}${verified ? ', SHA-256 verified' : ''}`
}

/** "Downloaded 998 of 1,000 files (3.9 MiB) to tor-files/Downloads in 2.1 s, 1.9 MiB/s; 2 failed:" */
export const describeBatch = (
  verb: 'download' | 'upload',
  summary: { readonly done: readonly unknown[]; readonly failed: readonly unknown[]; readonly bytes: number; readonly durationMs: number },
  total: number,
  downloadsDir: string,
): string => {
  const what = verb === 'download' ? `Downloaded ${summary.done.length} of ${total} files` : `Uploaded ${summary.done.length} of ${total} files`
  const where = verb === 'download' ? ` to ${visible(downloadsDir)}` : ' to the server'
  const failed = summary.failed.length > 0 ? `; ${summary.failed.length} failed:` : ', SHA-256 verified'
  return `${what} (${formatBytes(summary.bytes)})${where} in ${formatDuration(summary.durationMs)}${rateOf(summary.bytes, summary.durationMs)}${failed}`
}
