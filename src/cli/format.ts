import * as path from 'node:path'
import type { FileEntry } from '../protocol/index.js'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export const formatBytes = (bytes: number): string => {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`
}

export const formatDuration = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`

export const formatRate = (bytes: number, ms: number): string => `${formatBytes(ms > 0 ? (bytes * 1000) / ms : bytes)}/s`

const pad2 = (n: number) => String(n).padStart(2, '0')

/** Local time, to the minute: what a person wants in a table. */
export const formatTime = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** A listing as an aligned table, sizes right-aligned, with a count line. */
export const formatListing = (entries: readonly FileEntry[], emptyMessage = 'No files.'): string[] => {
  if (entries.length === 0) return [emptyMessage]
  const rows = entries.map((e) => [e.name, formatBytes(e.size), formatTime(e.mtimeMs)] as const)
  const nameWidth = Math.max(4, ...rows.map((r) => r[0].length))
  const sizeWidth = Math.max(4, ...rows.map((r) => r[1].length))
  const line = (name: string, size: string, modified: string) =>
    `${name.padEnd(nameWidth)}  ${size.padStart(sizeWidth)}  ${modified}`
  const total = entries.reduce((sum, e) => sum + e.size, 0)
  return [
    line('NAME', 'SIZE', 'MODIFIED'),
    ...rows.map((r) => line(r[0], r[1], r[2])),
    `${entries.length} file${entries.length === 1 ? '' : 's'}, ${formatBytes(total)}`,
  ]
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
  const what = direction === 'download' ? `Downloaded ${name} (${formatBytes(bytes)}) to ${path.join(downloadsDir, name)}` : `Uploaded ${name} (${formatBytes(bytes)}) to the server`
  return `${what} in ${formatDuration(durationMs)}, ${formatRate(bytes, durationMs)}`
}
