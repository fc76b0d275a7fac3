import { FileTooLarge, InvalidSize, ProtocolViolation } from '../errors.js'

/**
 * TFTCP control messages. Every message is one UTF-8 line ending in LF.
 *
 * Commands (client -> server):
 *
 *     show\n
 *     search <text>\n            <text> is the rest of the line, spaces included
 *     hashes[ <text>]\n          the listing (or a search) with each file's SHA-256
 *     download <name>\n
 *     get <offset> <sha256 or -> <name>\n   a verified download, resumed at <offset> if the file's
 *                                          SHA-256 is still the one given
 *     gets <name>[\t<name>]...\n   verified downloads of several whole files in one command
 *                                  (names cannot contain a tab): ok, then per name what
 *                                  `get 0 - <name>` answers after its ok
 *     upload <name>\n
 *     put <name>\n                 a verified upload: as upload, then a line with the
 *                                  SHA-256 of the bytes right after them
 *     store <size> <sha256> <name>\n<size raw bytes>
 *                                  a whole small file (at most STORE_MAX_BYTES) in one
 *                                  message: the bytes always follow the line, so stores
 *                                  can be sent one after another without waiting
 *     stores\n<entry>...\n          several whole small files in one command, each entry
 *                                  `<size> <sha256> <name>\n<size raw bytes>` (what follows
 *                                  `store `), ended by an empty line; one answer per entry
 *     features\n                   ok, one line per protocol extension, end
 *     auth <account> <token>\n      neither contains a space
 *     exit\n
 *
 * Replies (server -> client): exactly these strings, or `error <reason>`.
 */
export const Reply = {
  ok: 'ok',
  unknownCommand: 'This command does not exist, rewrite',
  end: 'end',
  found: 'found',
  notFound: 'Not found file',
  exit: 'exit',
} as const

export const errorReply = (reason: string): string => `error ${reason.replace(/[\r\n]+/g, ' ')}`

export const isErrorReply = (line: string): boolean => line.startsWith('error ')

export type Command =
  | { readonly verb: 'show' }
  | { readonly verb: 'search'; readonly text: string }
  | { readonly verb: 'hashes'; readonly text?: string }
  | { readonly verb: 'download'; readonly name: string }
  | { readonly verb: 'get'; readonly offset: number; readonly expected: string | undefined; readonly name: string }
  | { readonly verb: 'gets'; readonly names: readonly string[] }
  | { readonly verb: 'upload'; readonly name: string }
  | { readonly verb: 'put'; readonly name: string }
  | { readonly verb: 'store'; readonly size: number; readonly sha256: string; readonly name: string }
  | { readonly verb: 'stores' }
  | { readonly verb: 'features' }
  | { readonly verb: 'auth'; readonly account: string; readonly token: string }
  | { readonly verb: 'exit' }

/**
 * `undelimited`: a store line whose payload cannot be delimited (no valid size, or one
 * above STORE_MAX_BYTES): what follows it cannot be told from the next command.
 */
export type ParsedCommand = Command | { readonly verb: 'unknown'; readonly line: string } | { readonly verb: 'undelimited'; readonly line: string }

/** The largest file a `store` carries; larger ones go with put (streamed, resumable). */
export const STORE_MAX_BYTES = 16 << 20

/** The protocol extensions this server speaks beyond the seed's commands, as `features` lists them. */
export const FEATURES = ['get', 'put', 'hashes', 'store', 'gets', 'stores'] as const

/** Names are separated by a tab in a `gets` line (a control character: never part of a name). */
export const NAME_SEPARATOR = '\t'

/**
 *     <verb>[ <argument>]\n
 *
 * The verb is case-sensitive. `show` and `exit` take no argument; `search`,
 * `download` and `upload` need a non-empty one (the rest of the line after one space).
 */
export const parseCommand = (line: string): ParsedCommand => {
  const space = line.indexOf(' ')
  const verb = space < 0 ? line : line.slice(0, space)
  const arg = space < 0 ? undefined : line.slice(space + 1)
  switch (verb) {
    case 'show':
    case 'exit':
    case 'features':
    case 'stores':
      return arg === undefined ? { verb } : { verb: 'unknown', line }
    case 'store': {
      const entry = parseStoreEntry(arg ?? '')
      return entry ? { verb, ...entry } : { verb: 'undelimited', line }
    }
    case 'search':
      return arg ? { verb, text: arg } : { verb: 'unknown', line }
    case 'hashes':
      return arg === undefined ? { verb } : arg ? { verb, text: arg } : { verb: 'unknown', line }
    case 'download':
    case 'upload':
    case 'put':
      return arg ? { verb, name: arg } : { verb: 'unknown', line }
    case 'get': {
      // get <offset> <sha256 or -> <name>: the name is the rest of the line.
      const match = /^([0-9]{1,16}) ([0-9a-f]{64}|-) (.+)$/s.exec(arg ?? '')
      const offset = match ? Number(match[1]) : Number.NaN
      return match && Number.isSafeInteger(offset)
        ? { verb, offset, expected: match[2] === '-' ? undefined : match[2], name: match[3]! }
        : { verb: 'unknown', line }
    }
    case 'gets':
      return arg ? { verb, names: arg.split(NAME_SEPARATOR) } : { verb: 'unknown', line }
    case 'auth': {
      const [account, token, ...rest] = (arg ?? '').split(' ')
      return account && token && rest.length === 0 ? { verb, account, token } : { verb: 'unknown', line }
    }
    default:
      return { verb: 'unknown', line }
  }
}

/**
 * What follows `store ` on its line, and each entry line of `stores`:
 *
 *     <size> <sha256> <name>\n<size raw bytes>     e.g. 5 2cf2...9824 hello.txt\nhello
 *
 * `<size>` at most STORE_MAX_BYTES, `<sha256>` 64 lowercase hex, the name the rest of the
 * line. Undefined when the bytes that follow cannot be delimited (no valid size or hash).
 */
export const parseStoreEntry = (text: string): { readonly size: number; readonly sha256: string; readonly name: string } | undefined => {
  const match = /^([0-9]{1,16}) ([0-9a-f]{64}) (.+)$/s.exec(text)
  const size = match ? Number(match[1]) : Number.NaN
  return match && Number.isSafeInteger(size) && size <= STORE_MAX_BYTES ? { size, sha256: match[2]!, name: match[3]! } : undefined
}

export const encodeStoreEntry = (entry: { readonly size: number; readonly sha256: string; readonly name: string }): string => `${entry.size} ${entry.sha256} ${entry.name}`

export const encodeCommand = (command: Command): string => {
  switch (command.verb) {
    case 'show':
    case 'exit':
    case 'features':
    case 'stores':
      return command.verb
    case 'store':
      return `store ${encodeStoreEntry(command)}`
    case 'search':
      return `search ${command.text}`
    case 'hashes':
      return command.text === undefined ? 'hashes' : `hashes ${command.text}`
    case 'download':
    case 'upload':
    case 'put':
      return `${command.verb} ${command.name}`
    case 'get':
      return `get ${command.offset} ${command.expected ?? '-'} ${command.name}`
    case 'gets':
      return `gets ${command.names.join(NAME_SEPARATOR)}`
    case 'auth':
      return `auth ${command.account} ${command.token}`
  }
}

export interface FileEntry {
  readonly name: string
  readonly size: number
  /** Last modification, milliseconds since the epoch. */
  readonly mtimeMs: number
  /** The content's SHA-256 (hex): in the rows of `hashes` only. */
  readonly sha256?: string
}

/**
 * One listing row (after `ok`, before `end`):
 *
 *     <name>\t<size in bytes, decimal>\t<last modified, ISO 8601 UTC>\n
 *     report.pdf\t18231\t2026-11-24T10:00:00.000Z\n
 *
 * In the answer to `hashes`, a fourth field, the SHA-256 (64 lowercase hex):
 *
 *     report.pdf\t18231\t2026-11-24T10:00:00.000Z\t9f86d0...0a08\n
 *
 * Names cannot contain a tab (a control character), so the row splits unambiguously.
 */
export const encodeListingRow = (entry: FileEntry): string =>
  `${entry.name}\t${entry.size}\t${new Date(entry.mtimeMs).toISOString()}${entry.sha256 ? `\t${entry.sha256}` : ''}`

export const decodeListingRow = (line: string): FileEntry | ProtocolViolation => {
  const fields = line.split('\t')
  if (fields.length !== 3 && fields.length !== 4) return new ProtocolViolation({ detail: `bad listing row: ${JSON.stringify(line)}` })
  const [name, sizeText, modified, sha256] = fields as [string, string, string, string | undefined]
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) return new ProtocolViolation({ detail: `bad listing row: ${JSON.stringify(line)}` })
  const size = /^[0-9]{1,16}$/.test(sizeText) ? Number(sizeText) : Number.NaN
  const mtimeMs = Date.parse(modified)
  if (!Number.isSafeInteger(size) || Number.isNaN(mtimeMs)) {
    return new ProtocolViolation({ detail: `bad listing row: ${JSON.stringify(line)}` })
  }
  return sha256 === undefined ? { name, size, mtimeMs } : { name, size, mtimeMs, sha256 }
}

/**
 * A payload size line, before the raw bytes of a download or an upload:
 *
 *     <decimal digits>\n          e.g. 1048576\n
 *
 * Only ASCII digits; no sign, no spaces, no exponent. Sizes beyond
 * Number.MAX_SAFE_INTEGER or `limit` are refused.
 */
export const encodeSize = (size: number): string => String(size)

/**
 * The size line of a verified download (`get`), before the raw bytes:
 *
 *     <size> <sha256 of the whole file, 64 hex> <from>\n    e.g. 11 5f2b...e1 0\n
 *
 * `from` is where the bytes start: the offset asked for when the file's SHA-256 is
 * the one the client gave (a resume), else 0 (the whole file). `size - from` bytes follow.
 */
export interface VerifiedSize {
  readonly size: number
  readonly sha256: string
  readonly from: number
}

/**
 * The checksum line a verified upload (`put`) sends right after its bytes:
 *
 *     <sha256 of the bytes sent, 64 lowercase hex>\n
 */
export const parseChecksum = (text: string): string | undefined => (/^[0-9a-f]{64}$/.test(text) ? text : undefined)

export const encodeVerifiedSize = (v: VerifiedSize): string => `${v.size} ${v.sha256} ${v.from}`

export const parseVerifiedSize = (text: string): VerifiedSize | ProtocolViolation => {
  const match = /^([0-9]{1,16}) ([0-9a-f]{64}) ([0-9]{1,16})$/.exec(text)
  const size = match ? Number(match[1]) : Number.NaN
  const from = match ? Number(match[3]) : Number.NaN
  if (!match || !Number.isSafeInteger(size) || !Number.isSafeInteger(from) || from > size) {
    return new ProtocolViolation({ detail: `bad size line from server: ${JSON.stringify(text)}` })
  }
  return { size, sha256: match[2]!, from }
}

export const parseSize = (text: string, limit = Number.MAX_SAFE_INTEGER): number | InvalidSize | FileTooLarge => {
  if (!/^[0-9]{1,20}$/.test(text)) return new InvalidSize({ text })
  const size = Number(text)
  if (!Number.isSafeInteger(size)) return new FileTooLarge({ size, limit })
  if (size > limit) return new FileTooLarge({ size, limit })
  return size
}

/** A command line as it may be logged or traced: an `auth` line keeps its account, never its token. */
export const redactLine = (line: string): string => (line.startsWith('auth ') ? line.replace(/^auth (\S*).*$/s, 'auth $1 <token>') : line)
