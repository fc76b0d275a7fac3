import * as Data from 'effect/Data'

/**
 * One tagged error class per failure kind. `code` is stable: scripts and logs
 * may match on it. `message` is the one line a person reads.
 */

export class LineTooLong extends Data.TaggedError('LineTooLong')<{ readonly limit: number }> {
  readonly code = 'TOR_ERR_LINE_TOO_LONG'
  get message() {
    return `line too long (max ${this.limit} bytes)`
  }
}

export class InvalidUtf8 extends Data.TaggedError('InvalidUtf8')<{}> {
  readonly code = 'TOR_ERR_INVALID_UTF8'
  get message() {
    return 'line is not valid UTF-8'
  }
}

export class InvalidFileName extends Data.TaggedError('InvalidFileName')<{
  readonly name: string
  readonly reason: string
}> {
  readonly code = 'TOR_ERR_INVALID_NAME'
  get message() {
    return `invalid file name: ${this.reason}`
  }
}

export class InvalidSize extends Data.TaggedError('InvalidSize')<{ readonly text: string }> {
  readonly code = 'TOR_ERR_INVALID_SIZE'
  get message() {
    return 'invalid size'
  }
}

export class FileTooLarge extends Data.TaggedError('FileTooLarge')<{
  readonly size: number
  readonly limit: number
}> {
  readonly code = 'TOR_ERR_FILE_TOO_LARGE'
  get message() {
    return `file too large (max ${this.limit} bytes)`
  }
}

export class FileNotFound extends Data.TaggedError('FileNotFound')<{ readonly name: string }> {
  readonly code = 'TOR_ERR_NOT_FOUND'
  get message() {
    return `Not found file: ${this.name}`
  }
}

export class PeerClosed extends Data.TaggedError('PeerClosed')<{ readonly during?: string }> {
  readonly code = 'TOR_ERR_PEER_CLOSED'
  get message() {
    return this.during ? `connection closed during ${this.during}` : 'connection closed'
  }
}

export class TransferIncomplete extends Data.TaggedError('TransferIncomplete')<{
  readonly expected: number
  readonly received: number
}> {
  readonly code = 'TOR_ERR_TRANSFER_INCOMPLETE'
  get message() {
    return `transfer incomplete: connection closed after ${this.received} of ${this.expected} bytes`
  }
}

export class StorageFailure extends Data.TaggedError('StorageFailure')<{
  readonly operation: string
  readonly cause: unknown
}> {
  readonly code = 'TOR_ERR_STORAGE'
  get message() {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation} failed: ${detail}`
  }
}

export class ConnectionFailed extends Data.TaggedError('ConnectionFailed')<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  readonly code = 'TOR_ERR_CONNECTION'
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
  readonly code = 'TOR_ERR_LISTEN'
  get message() {
    const detail = (this.cause as NodeJS.ErrnoException | undefined)?.code ?? String(this.cause)
    return `cannot listen on ${this.host}:${this.port} (${detail})`
  }
}

/** The server answered with something the command does not allow (`error ...`, an unknown reply). */
export class ServerRefused extends Data.TaggedError('ServerRefused')<{ readonly reply: string }> {
  readonly code = 'TOR_ERR_REFUSED'
  get message() {
    return this.reply.startsWith('error ') ? this.reply.slice(6) : this.reply
  }
}

export class ProtocolViolation extends Data.TaggedError('ProtocolViolation')<{ readonly detail: string }> {
  readonly code = 'TOR_ERR_PROTOCOL'
  get message() {
    return `protocol violation: ${this.detail}`
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
  | ConnectionFailed
  | ListenFailed
  | ServerRefused
  | ProtocolViolation

export const isTorError = (u: unknown): u is TorError =>
  typeof u === 'object' && u !== null && typeof (u as { code?: unknown }).code === 'string' &&
  String((u as { code: string }).code).startsWith('TOR_ERR_')
