/** Byte counts, durations and rates as a person reads them. Shared by the CLI, the console and the server log. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export const formatBytes = (bytes: number): string => {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`
}

export const formatDuration = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`

export const formatRate = (bytes: number, ms: number): string => `${formatBytes(ms > 0 ? (bytes * 1000) / ms : bytes)}/s`
