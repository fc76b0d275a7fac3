const FACTORS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** Parses "1048576", "512M", "10GiB", "2g" into bytes; undefined when it is not a size. */
export const parseByteSize = (text: string): number | undefined => {
  const match = /^\s*([0-9]+)\s*([kmgt]?)(i?b)?\s*$/i.exec(text)
  if (!match) return undefined
  const bytes = Number(match[1]) * FACTORS[match[2]!.toLowerCase()]!
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

/** Parses "300", "0.5" (seconds) into milliseconds; undefined when it is not a positive number. */
export const parseSeconds = (text: string): number | undefined => {
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(text)) return undefined
  const ms = Math.round(Number(text) * 1000)
  return ms > 0 && ms <= 2 ** 31 - 1 ? ms : undefined
}

const DURATION_UNITS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }

/** Parses "90", "90s", "30m", "12h", "1d" into milliseconds (0 allowed); undefined when it is not a duration. */
export const parseDuration = (text: string): number | undefined => {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$/i.exec(text)
  if (!match) return undefined
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]!)
  return Number.isSafeInteger(ms) ? ms : undefined
}
