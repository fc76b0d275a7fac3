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
