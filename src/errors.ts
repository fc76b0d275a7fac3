import * as Data from 'effect/Data'

/**
 * One tagged error class per failure kind. `code` is stable: scripts and logs
 * may match on it, and the CLI prints it with the one-line reason. `message` is
 * what a person reads. `docs/errors.md` is generated from ERROR_CATALOG below
 * (a test fails when it drifts).
 */

export class LineTooLong extends Data.TaggedError('LineTooLong')<{ readonly limit: number }> {
  readonly code = 'TOR_ERR_LINE_TOO_LONG' as const
  get message() {
    return `line too long (max ${this.limit} bytes)`
  }
}

export class InvalidUtf8 extends Data.TaggedError('InvalidUtf8')<{}> {
  readonly code = 'TOR_ERR_INVALID_UTF8' as const
  get message() {
    return 'line is not valid UTF-8'
  }
}

export class InvalidFileName extends Data.TaggedError('InvalidFileName')<{
  readonly name: string
  readonly reason: string
}> {
  readonly code = 'TOR_ERR_INVALID_NAME' as const
  get message() {
    return `invalid file name: ${this.reason}`
  }
}

export class InvalidSize extends Data.TaggedError('InvalidSize')<{ readonly text: string }> {
  readonly code = 'TOR_ERR_INVALID_SIZE' as const
  get message() {
    return 'invalid size'
  }
}

export class FileTooLarge extends Data.TaggedError('FileTooLarge')<{
  readonly size: number
  readonly limit: number
}> {
  readonly code = 'TOR_ERR_FILE_TOO_LARGE' as const
  get message() {
    return `file too large (max ${this.limit} bytes)`
  }
}

export class FileNotFound extends Data.TaggedError('FileNotFound')<{ readonly name: string }> {
  readonly code = 'TOR_ERR_NOT_FOUND' as const
  get message() {
    return `Not found file: ${this.name}`
  }
}

export class PeerClosed extends Data.TaggedError('PeerClosed')<{ readonly during?: string; readonly said?: string }> {
  readonly code = 'TOR_ERR_PEER_CLOSED' as const
  get message() {
    return `connection closed${this.during ? ` during ${this.during}` : ''}${this.said ? ` (the server said: ${this.said})` : ''}`
  }
}

export class TransferIncomplete extends Data.TaggedError('TransferIncomplete')<{
  readonly expected: number
  readonly received: number
}> {
  readonly code = 'TOR_ERR_TRANSFER_INCOMPLETE' as const
  get message() {
    return `transfer incomplete: connection closed after ${this.received} of ${this.expected} bytes`
  }
}

/** Why a storage operation failed, in words that never contain a path (safe to send to a client). */
export const storageReason = (cause: unknown): string => {
  // An object store's answers (AWS SDK errors are named after S3's error codes).
  switch ((cause as { name?: string } | undefined)?.name) {
    case 'PreconditionFailed':
    case 'ConditionalRequestConflict':
      return 'a file with that name appeared meanwhile, and replacing it is not allowed'
    case 'SlowDown':
    case 'ServiceUnavailable':
    case 'InternalError':
    case 'TimeoutError':
      return "the server's storage is busy or unreachable; try again later"
    case 'NoSuchBucket':
    case 'AccessDenied':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
      return "the server's storage refused it (the operator's log says why)"
  }
  switch ((cause as NodeJS.ErrnoException | undefined)?.code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "the server's storage is busy or unreachable; try again later"
    case 'ENOSPC':
      return 'no space left on the server'
    case 'EDQUOT':
      return 'disk quota exceeded on the server'
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'the server may not write there'
    case 'EISDIR':
      return 'a folder has that name'
    case 'EEXIST':
      return 'a file with that name appeared meanwhile, and replacing it is not allowed'
    case 'EIO':
      return 'storage I/O error on the server'
    case 'EMFILE':
    case 'ENFILE':
      return 'the server has too many open files'
    default:
      return 'storage error on the server'
  }
}

export class StorageFailure extends Data.TaggedError('StorageFailure')<{
  readonly operation: string
  readonly cause: unknown
}> {
  readonly code = 'TOR_ERR_STORAGE' as const
  /** For the server's log: may name paths. */
  get message() {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation} failed: ${detail}`
  }
  /** For the client: never a path. */
  get publicMessage() {
    return storageReason(this.cause)
  }
}

export class NoSpace extends Data.TaggedError('NoSpace')<{ readonly needed: number; readonly available: number }> {
  readonly code = 'TOR_ERR_NO_SPACE' as const
  get message() {
    return `not enough space on the server (${this.needed} bytes needed, ${this.available} free)`
  }
}

/** The client's Downloads folder has less free space than a download needs (told before any byte is written). */
export class NoLocalSpace extends Data.TaggedError('NoLocalSpace')<{ readonly folder: string; readonly needed: number; readonly available: number }> {
  readonly code = 'TOR_ERR_NO_LOCAL_SPACE' as const
  get message() {
    return `not enough space in ${this.folder} (${this.needed} bytes needed, ${this.available} free): nothing was downloaded`
  }
}

export class ConnectionFailed extends Data.TaggedError('ConnectionFailed')<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  readonly code = 'TOR_ERR_CONNECTION' as const
  get message() {
    const detail = (this.cause as NodeJS.ErrnoException | undefined)?.code ?? String(this.cause)
    return `cannot connect to ${this.host}:${this.port} (${detail})`
  }
}

export class ListenFailed extends Data.TaggedError('ListenFailed')<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  readonly code = 'TOR_ERR_LISTEN' as const
  get message() {
    const detail = (this.cause as NodeJS.ErrnoException | undefined)?.code ?? String(this.cause)
    return `cannot listen on ${this.host}:${this.port} (${detail})`
  }
}

/** The server answered with `error ...` or a reply the command does not allow. */
export class ServerRefused extends Data.TaggedError('ServerRefused')<{ readonly reply: string }> {
  readonly code = 'TOR_ERR_REFUSED' as const
  get message() {
    return this.reply.startsWith('error ') ? this.reply.slice(6) : this.reply
  }
}

export class ProtocolViolation extends Data.TaggedError('ProtocolViolation')<{ readonly detail: string }> {
  readonly code = 'TOR_ERR_PROTOCOL' as const
  get message() {
    return `protocol violation: ${this.detail}`
  }
}

/** The server's TLS certificate is not the one this client trusts for it. */
export class UntrustedServer extends Data.TaggedError('UntrustedServer')<{
  readonly host: string
  readonly port: number
  /** The fingerprint pinned or remembered; undefined when the client had none to compare. */
  readonly expected: string | undefined
  readonly actual: string
  readonly pinned: boolean
}> {
  readonly code = 'TOR_ERR_UNTRUSTED_SERVER' as const
  get message() {
    const where = `${this.host}:${this.port}`
    const accept = `tor client connect --host ${this.host} --port ${this.port} --fingerprint ${this.actual}`
    return this.pinned
      ? `the server at ${where} presented certificate ${this.actual}, not the pinned ${this.expected}`
      : `the certificate of ${where} changed: it was ${this.expected}, it is now ${this.actual}. If the server's certificate was replaced on purpose, accept the new one with: ${accept}`
  }
}

/** The server said nothing for longer than the client's --timeout. */
export class ReplyTimeout extends Data.TaggedError('ReplyTimeout')<{ readonly seconds: number }> {
  readonly code = 'TOR_ERR_TIMEOUT' as const
  get message() {
    return `the server did not answer within ${this.seconds} s`
  }
}

/** An account operation that cannot be done (a name taken, no such account, a bad name). */
export class AccountProblem extends Data.TaggedError('AccountProblem')<{ readonly reason: string }> {
  readonly code = 'TOR_ERR_ACCOUNT' as const
  get message() {
    return this.reason
  }
}

/** The user pressed Ctrl-C during a transfer. */
export class Cancelled extends Data.TaggedError('Cancelled')<{ readonly what: string }> {
  readonly code = 'TOR_ERR_CANCELLED' as const
  get message() {
    return `${this.what} cancelled`
  }
}

/** The bytes that arrived do not hash to the SHA-256 the other side announced. */
export class ChecksumMismatch extends Data.TaggedError('ChecksumMismatch')<{ readonly name: string; readonly expected: string; readonly actual: string }> {
  readonly code = 'TOR_ERR_CHECKSUM' as const
  get message() {
    return `checksum mismatch for ${this.name}: the server announced SHA-256 ${this.expected}, the bytes received hash to ${this.actual}; nothing was kept`
  }
}

/** A bug: something failed that has no error kind of its own. */
export class InternalError extends Data.TaggedError('InternalError')<{ readonly detail: string }> {
  readonly code = 'TOR_ERR_INTERNAL' as const
  get message() {
    return `internal error: ${this.detail}`
  }
}

export type TorError =
  | LineTooLong
  | InvalidUtf8
  | InvalidFileName
  | InvalidSize
  | FileTooLarge
  | FileNotFound
  | PeerClosed
  | TransferIncomplete
  | StorageFailure
  | NoSpace
  | NoLocalSpace
  | ConnectionFailed
  | ListenFailed
  | ServerRefused
  | ProtocolViolation
  | ReplyTimeout
  | UntrustedServer
  | AccountProblem
  | Cancelled
  | ChecksumMismatch
  | InternalError

export type ErrorCode = TorError['code']

/** Every error code with what it means and what to do: the source of docs/errors.md. */
export const ERROR_CATALOG: Record<ErrorCode, { readonly kind: string; readonly meaning: string; readonly action: string }> = {
  TOR_ERR_LINE_TOO_LONG: { kind: 'LineTooLong', meaning: 'A control line was longer than the limit (4096 bytes).', action: 'Send shorter lines; names are at most 255 bytes.' },
  TOR_ERR_INVALID_UTF8: { kind: 'InvalidUtf8', meaning: 'A control line was not valid UTF-8.', action: 'Send UTF-8 text.' },
  TOR_ERR_INVALID_NAME: { kind: 'InvalidFileName', meaning: 'A file name breaks the name rules (path separator, leading dot, control or invisible character, over 255 bytes).', action: 'Rename the file; see docs/protocol.md, Names.' },
  TOR_ERR_INVALID_SIZE: { kind: 'InvalidSize', meaning: 'A size line was not plain decimal digits.', action: 'Send the size as ASCII digits only.' },
  TOR_ERR_FILE_TOO_LARGE: { kind: 'FileTooLarge', meaning: "An upload is larger than the server's --max-upload.", action: 'Ask the operator to raise --max-upload, or split the file.' },
  TOR_ERR_NOT_FOUND: { kind: 'FileNotFound', meaning: 'The file does not exist (on the server, or in Uploads for an upload).', action: 'Check the name with show or search (names are case-sensitive).' },
  TOR_ERR_PEER_CLOSED: { kind: 'PeerClosed', meaning: 'The other side closed the connection.', action: 'Connect again; the server log says why it closed.' },
  TOR_ERR_TRANSFER_INCOMPLETE: { kind: 'TransferIncomplete', meaning: 'The connection ended before every announced byte arrived; nothing was kept.', action: 'Run the transfer again.' },
  TOR_ERR_STORAGE: { kind: 'StorageFailure', meaning: 'Reading or writing a file failed (no space, no permission, I/O error).', action: 'Client side: check the local folder. Server side: the server log has the details.' },
  TOR_ERR_NO_SPACE: { kind: 'NoSpace', meaning: 'The server has less free space than the upload needs; it said so before any byte was sent.', action: 'Free space on the server, or upload a smaller file.' },
  TOR_ERR_NO_LOCAL_SPACE: { kind: 'NoLocalSpace', meaning: "The client's Downloads folder has less free space than the download needs; nothing was written (the server's announced size is checked before the bytes).", action: 'Free space there, or download into another folder with --dir.' },
  TOR_ERR_CONNECTION: { kind: 'ConnectionFailed', meaning: 'The client could not connect to the server.', action: 'Check --host and --port, and that the server runs.' },
  TOR_ERR_LISTEN: { kind: 'ListenFailed', meaning: 'The server could not listen on its address and port.', action: 'Pick another --port, or stop what uses it.' },
  TOR_ERR_REFUSED: { kind: 'ServerRefused', meaning: 'The server answered error <reason>: limits, timeouts, invalid commands, storage failures.', action: 'Read the reason; docs/protocol.md lists them.' },
  TOR_ERR_PROTOCOL: { kind: 'ProtocolViolation', meaning: 'The other side sent something TFTCP does not allow.', action: 'Check that both sides speak TFTCP (right host and port).' },
  TOR_ERR_UNTRUSTED_SERVER: { kind: 'UntrustedServer', meaning: "The server's TLS certificate is not the pinned one (--fingerprint) or not the one remembered in known_servers: nothing was sent.", action: 'Ask the operator for the fingerprint (printed at server start); if it changed on purpose, run the command the message shows.' },
  TOR_ERR_ACCOUNT: { kind: 'AccountProblem', meaning: 'tor server users could not do it: the name is taken, there is no such account, or the name is not allowed.', action: 'tor server users list shows the accounts.' },
  TOR_ERR_TIMEOUT: { kind: 'ReplyTimeout', meaning: 'The server said nothing for longer than --timeout.', action: 'Raise --timeout, or check the server.' },
  TOR_ERR_CANCELLED: { kind: 'Cancelled', meaning: 'The user cancelled a transfer (Ctrl-C). A download from a server that knows get keeps its part, hidden, to resume; otherwise nothing partial was kept.', action: 'Run the transfer again when you want it: a kept part is resumed.' },
  TOR_ERR_CHECKSUM: { kind: 'ChecksumMismatch', meaning: "The bytes received do not hash to the SHA-256 the server announced (corrupted on the way or on a disk); nothing was kept under the file's name.", action: 'Run the download again; if it keeps failing, tell the operator (a disk or network fault).' },
  TOR_ERR_INTERNAL: { kind: 'InternalError', meaning: 'A failure with no error kind of its own: a bug.', action: 'Report it with the command and the server log.' },
}

export const isTorError = (u: unknown): u is TorError =>
  typeof u === 'object' && u !== null && typeof (u as { code?: unknown }).code === 'string' &&
  (u as { code: string }).code in ERROR_CATALOG

/** The error itself when it is one of ours, otherwise an InternalError that keeps its text. */
export const asTorError = (u: unknown): TorError =>
  isTorError(u) ? u : new InternalError({ detail: u instanceof Error ? u.message : String(u) })

/** What a client may be told about a failure: never a server path. */
export const publicReason = (u: unknown): string => {
  if (u instanceof StorageFailure) return u.publicMessage
  if (isTorError(u)) return u.message
  return 'internal error on the server'
}
