import { InvalidFileName } from '../errors.js'

export const MAX_NAME_BYTES = 255

// Control characters (C0, DEL, C1): none may appear in a name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

// Characters that reorder or hide text (bidirectional overrides and isolates, zero-width
// characters, the byte-order mark, soft hyphen): a name with one can look like another name.
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/

/**
 * A name is one plain file name directly in the served folder:
 * not empty, not starting with ".", no "/", "\", NUL, control or invisible
 * characters, in Unicode NFC (so two names that look alike are one name),
 * at most 255 bytes of UTF-8.
 * Returns the reason it is refused, or undefined when it is allowed.
 */
export const nameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'empty'
  if (name.startsWith('.')) return 'starts with "."'
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator'
  if (CONTROL.test(name)) return 'contains a control character'
  if (INVISIBLE.test(name)) return 'contains an invisible or direction-changing character'
  if (name.includes('\ufffd')) return 'contains an invalid character'
  if (name.normalize('NFC') !== name) return 'not in Unicode NFC form'
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `longer than ${MAX_NAME_BYTES} bytes`
  return undefined
}

export const isValidName = (name: string): boolean => nameProblem(name) === undefined

/** A name as received: compared in NFC, so a client that sends NFD names the same file. */
export const normalizeName = (name: string): string => name.normalize('NFC')

export const checkName = (name: string): InvalidFileName | undefined => {
  const reason = nameProblem(name)
  return reason === undefined ? undefined : new InvalidFileName({ name, reason })
}

/**
 * Text from the other side, made safe for a terminal: control characters, escape
 * sequences and invisible or direction-changing characters are shown as \xNN or
 * \u{...} escapes instead of acting on the screen. Backslashes are doubled so the
 * result is unambiguous.
 */
export const visible = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  /[\\\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffd\ud800-\udfff]/.test(text)
    ? text.replace(
        // eslint-disable-next-line no-control-regex
        /[\\\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffd]|[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g,
        (c) => {
          if (c === '\\') return '\\\\'
          if (c.length === 2) return c // a well-formed astral character
          const code = c.charCodeAt(0)
          return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
        },
      )
    : text
