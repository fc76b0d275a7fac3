import {
  Reply,
  errorReply,
  nameProblem,
  normalizeName,
  parseCommand,
  parseSize,
} from '../protocol/index.js'

/** What the line reader hands the machine: a decoded line, or why a line could not be decoded. */
export type LineResult =
  | { readonly _tag: 'Line'; readonly text: string }
  | { readonly _tag: 'Invalid'; readonly code: string; readonly message: string }

/** The limits one session runs under (flags of `tor server start`). */
export interface SessionLimits {
  readonly maxUploadBytes: number
  /** A session awaiting a command for this long is closed. */
  readonly idleTimeoutMs: number
  /** A transfer or listing that makes no progress for this long is ended. */
  readonly stallTimeoutMs: number
  /** Consecutive refused lines after which the session is closed. */
  readonly maxRefusals: number
}

/** Refused lines in a row that are logged one by one; the rest are counted and summarized. */
export const LOGGED_REFUSALS = 3

/**
 * The protocol decision for one received command line: pure, so the machine's
 * guards and actions, the replay tool and the tests all agree on it. The machine
 * stores it in context once per line.
 */
export type CommandDecision =
  | { readonly next: 'list'; readonly search?: string }
  | { readonly next: 'download'; readonly name: string }
  | { readonly next: 'upload'; readonly name: string }
  | { readonly next: 'exit' }
  | { readonly next: 'refuse'; readonly command: string; readonly reply: string; readonly reason: string }

export const decideCommand = (line: LineResult): CommandDecision => {
  if (line._tag === 'Invalid') return { next: 'refuse', command: `<${line.code}>`, reply: errorReply(line.message), reason: line.message }
  const command = parseCommand(line.text)
  switch (command.verb) {
    case 'show':
      return { next: 'list' }
    case 'search':
      return { next: 'list', search: command.text }
    case 'download':
    case 'upload': {
      const name = normalizeName(command.name)
      const problem = nameProblem(name)
      if (problem !== undefined) {
        return { next: 'refuse', command: line.text, reply: errorReply('invalid file name'), reason: `invalid file name (${problem})` }
      }
      return { next: command.verb, name }
    }
    case 'exit':
      return { next: 'exit' }
    case 'unknown':
      return { next: 'refuse', command: line.text, reply: Reply.unknownCommand, reason: 'unknown command' }
  }
}

export type SizeDecision =
  | { readonly accepted: true; readonly size: number }
  | { readonly accepted: false; readonly text: string; readonly reply: string; readonly reason: string }

export const decideUploadSize = (line: LineResult, maxUploadBytes: number): SizeDecision => {
  const text = line._tag === 'Line' ? line.text : `<${line.code}>`
  if (line._tag === 'Invalid') return { accepted: false, text, reply: errorReply('invalid size'), reason: line.message }
  const size = parseSize(line.text, maxUploadBytes)
  if (typeof size === 'number') return { accepted: true, size }
  return { accepted: false, text, reply: errorReply(size.message), reason: size.message }
}

/** The `error ...` lines a session sends before it closes on its own. */
export const ClosingReply = {
  idle: (ms: number) => errorReply(`idle timeout (${formatSeconds(ms)} s without a command), closing`),
  stalled: (ms: number) => errorReply(`transfer stalled (no progress for ${formatSeconds(ms)} s), closing`),
  refusals: (n: number) => errorReply(`too many invalid commands in a row (${n}), closing`),
  kicked: errorReply('disconnected by the server operator'),
  shuttingDown: errorReply('server is shutting down'),
} as const

const formatSeconds = (ms: number): string => String(Math.round(ms / 100) / 10)
