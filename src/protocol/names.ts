import { InvalidFileName } from '../errors.js'

export const MAX_NAME_BYTES = 255

// Control characters (C0, DEL, C1): none may appear in a name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A name is one plain file name directly in the served folder:
 * not empty, not starting with ".", no "/", "\", NUL or other control
 * characters, at most 255 bytes of UTF-8.
 * Returns the reason it is refused, or undefined when it is allowed.
 */
export const nameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'empty'
  if (name.startsWith('.')) return 'starts with "."'
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator'
  if (CONTROL.test(name)) return 'contains a control character'
  if (name.includes('\ufffd')) return 'contains an invalid character'
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `longer than ${MAX_NAME_BYTES} bytes`
  return undefined
}

export const isValidName = (name: string): boolean => nameProblem(name) === undefined

export const checkName = (name: string): InvalidFileName | undefined => {
  const reason = nameProblem(name)
  return reason === undefined ? undefined : new InvalidFileName({ name, reason })
}
