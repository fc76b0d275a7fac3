import type { Identity, Permission } from '../accounts/permissions.js'
import {
  Reply,
  errorReply,
  nameProblem,
  normalizeName,
  parseChecksum,
  parseCommand,
  parseSize,
  parseStoreEntry,
  redactLine,
  STORE_MAX_BYTES,
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
  /** What a session may do before (or without) `auth`. */
  readonly anonymous: readonly Permission[]
  /** How long a failed `auth` waits before its answer. */
  readonly loginDelayMs: number
  /** Failed logins after which the session is closed. */
  readonly maxFailedLogins: number
}

/** Refused lines in a row that are logged one by one; the rest are counted and summarized. */
export const LOGGED_REFUSALS = 3

/**
 * The protocol decision for one received command line: pure, so the machine's
 * guards and actions, the replay tool and the tests all agree on it. The machine
 * stores it in context once per line.
 */
export type CommandDecision =
  | { readonly next: 'list'; readonly search?: string; readonly hashes?: boolean }
  | { readonly next: 'download'; readonly name: string; readonly verified?: { readonly offset: number; readonly expected: string | undefined } }
  /** `gets`: whole verified downloads, one per name in order; a name that breaks the rules is answered with `reply` in its place. */
  | { readonly next: 'downloadMany'; readonly files: readonly ManyFile[] }
  /** `whole`: a store, its size and SHA-256 given with the command and its bytes right after the line. */
  | { readonly next: 'upload'; readonly name: string; readonly verified?: boolean; readonly whole?: { readonly size: number; readonly sha256: string } }
  /**
   * `stores`: entries follow, each decided when it is read (decideStoreEntry). `refused`: the
   * session may not upload; every entry is read, dropped and answered with this refusal.
   */
  | { readonly next: 'uploadMany'; readonly refused?: { readonly reply: string; readonly reason: string } }
  | { readonly next: 'auth'; readonly account: string; readonly token: string }
  | { readonly next: 'features' }
  | { readonly next: 'exit' }
  /**
   * `payload`: bytes that follow the refused line (a store's) and are read and dropped before the
   * reply; `close`: the line's payload cannot be delimited, so the session ends after the reply.
   */
  | { readonly next: 'refuse'; readonly command: string; readonly reply: string; readonly reason: string; readonly payload?: number; readonly close?: boolean }

/** One name of a `gets`, decided once: its normalized form, or the refusal sent in its place. */
export type ManyFile = { readonly name: string; readonly refused?: undefined } | { readonly name: string; readonly refused: { readonly reply: string; readonly reason: string } }

/** What each command needs: listing and download read; upload needs upload or overwrite (which one is decided on the name). */
const needs = (decision: CommandDecision): readonly Permission[] => {
  switch (decision.next) {
    case 'list':
    case 'download':
    case 'downloadMany':
      return ['read']
    case 'upload':
    case 'uploadMany':
      return ['upload', 'overwrite']
    default:
      return []
  }
}

/** The refusal when `who` may do none of `needed`: authentication required (anonymous) or permission denied (an account). */
export const accessRefusal = (who: Identity, needed: readonly Permission[], command: string): Extract<CommandDecision, { next: 'refuse' }> | undefined => {
  if (needed.length === 0 || needed.some((p) => who.permissions.includes(p))) return undefined
  return who.account === undefined
    ? { next: 'refuse', command, reply: errorReply('authentication required'), reason: 'authentication required' }
    : { next: 'refuse', command, reply: errorReply('permission denied'), reason: `${who.account} may not (${needed.join(' or ')})` }
}

/** The decision on one command line for this session, its permissions included. */
export const decideCommand = (line: LineResult, who: Identity = { account: undefined, permissions: ['read', 'upload', 'overwrite'] }): CommandDecision => {
  const decision = decideSyntax(line)
  const refusal = accessRefusal(who, needs(decision), line._tag === 'Line' ? redactLine(line.text) : '')
  if (!refusal) return decision
  // The entries of a refused stores still follow it: each is read, dropped and answered.
  if (decision.next === 'uploadMany') return { next: 'uploadMany', refused: { reply: refusal.reply, reason: refusal.reason } }
  // A refused store's bytes still follow its line.
  return decision.next === 'upload' && decision.whole ? { ...refusal, payload: decision.whole.size } : refusal
}

const decideSyntax = (line: LineResult): CommandDecision => {
  if (line._tag === 'Invalid') return { next: 'refuse', command: `<${line.code}>`, reply: errorReply(line.message), reason: line.message }
  const command = parseCommand(line.text)
  switch (command.verb) {
    case 'show':
      return { next: 'list' }
    case 'search':
      return { next: 'list', search: command.text }
    case 'hashes':
      return command.text === undefined ? { next: 'list', hashes: true } : { next: 'list', search: command.text, hashes: true }
    case 'download':
    case 'get':
    case 'upload':
    case 'put':
    case 'store': {
      const name = normalizeName(command.name)
      const problem = nameProblem(name)
      if (problem !== undefined) {
        return {
          next: 'refuse',
          command: line.text,
          reply: errorReply('invalid file name'),
          reason: `invalid file name (${problem})`,
          ...(command.verb === 'store' ? { payload: command.size } : {}),
        }
      }
      if (command.verb === 'get') return { next: 'download', name, verified: { offset: command.offset, expected: command.expected } }
      if (command.verb === 'put') return { next: 'upload', name, verified: true }
      if (command.verb === 'store') return { next: 'upload', name, verified: true, whole: { size: command.size, sha256: command.sha256 } }
      return { next: command.verb, name }
    }
    case 'gets':
      return {
        next: 'downloadMany',
        files: command.names.map((raw): ManyFile => {
          const name = normalizeName(raw)
          const problem = nameProblem(name)
          return problem === undefined ? { name } : { name: raw, refused: { reply: errorReply('invalid file name'), reason: `invalid file name (${problem})` } }
        }),
      }
    case 'stores':
      return { next: 'uploadMany' }
    case 'features':
      return { next: 'features' }
    case 'undelimited':
      return { next: 'refuse', command: redactLine(line.text), reply: errorReply(`${UNDELIMITED}; closing`), reason: UNDELIMITED, close: true }
    case 'auth':
      return { next: 'auth', account: command.account, token: command.token }
    case 'exit':
      return { next: 'exit' }
    case 'unknown':
      return { next: 'refuse', command: redactLine(line.text), reply: Reply.unknownCommand, reason: 'unknown command' }
  }
}

const UNDELIMITED = `store needs <size> (at most ${STORE_MAX_BYTES} bytes; larger files go with put) <sha256> <name>, and its bytes cannot be told from commands without it`

/** One entry of a stores, decided once when its line is read. */
export type EntryDecision =
  /** The empty line: the stores is over. */
  | { readonly next: 'end' }
  | { readonly next: 'store'; readonly name: string; readonly size: number; readonly sha256: string }
  /** Its bytes are read and dropped, then it is answered with `reply`. */
  | { readonly next: 'drop'; readonly name: string; readonly size: number; readonly reply: string; readonly reason: string }
  /** Its bytes cannot be delimited: answered with `reply`, and the session ends. */
  | { readonly next: 'close'; readonly reply: string; readonly reason: string }

export const decideStoreEntry = (line: LineResult, maxUploadBytes: number): EntryDecision => {
  if (line._tag === 'Invalid') return { next: 'close', reply: errorReply(`${line.message}; closing`), reason: line.message }
  if (line.text === '') return { next: 'end' }
  const entry = parseStoreEntry(line.text)
  if (!entry) return { next: 'close', reply: errorReply(`${UNDELIMITED}; closing`), reason: UNDELIMITED }
  const name = normalizeName(entry.name)
  const problem = nameProblem(name)
  if (problem !== undefined) return { next: 'drop', name: entry.name, size: entry.size, reply: errorReply('invalid file name'), reason: `invalid file name (${problem})` }
  const size = decideUploadSize({ _tag: 'Line', text: String(entry.size) }, maxUploadBytes)
  if (!size.accepted) return { next: 'drop', name, size: entry.size, reply: size.reply, reason: size.reason }
  return { next: 'store', name, size: entry.size, sha256: entry.sha256 }
}

/**
 * Where a verified download starts: at the offset the client asked for only when
 * the file is still the one it has the beginning of (same SHA-256) and the offset
 * lies within it; otherwise at 0, the whole file again.
 */
export const resumeFrom = (asked: { readonly offset: number; readonly expected: string | undefined }, file: { readonly size: number; readonly sha256: string }): number =>
  asked.expected === file.sha256 && asked.offset <= file.size ? asked.offset : 0

/** The checksum line after a verified upload's bytes: stored once it is read, as the machine decides on it. */
export type ChecksumDecision = { readonly matches: true } | { readonly matches: false; readonly reply: string; readonly reason: string }

export const decideChecksum = (line: LineResult, received: string): ChecksumDecision => {
  const claimed = line._tag === 'Line' ? parseChecksum(line.text) : undefined
  if (claimed === received) return { matches: true }
  const reason = claimed === undefined ? 'no valid SHA-256 line after the bytes' : `the bytes received hash to ${received}, not ${claimed}`
  return { matches: false, reply: errorReply(`checksum mismatch: ${reason}; nothing was stored`), reason: `checksum mismatch: ${reason}` }
}

export const LoginReply = {
  failed: errorReply('authentication failed'),
  permissionDenied: errorReply('permission denied'),
} as const

export type SizeDecision =
  | { readonly accepted: true; readonly size: number; readonly key?: string }
  | { readonly accepted: false; readonly text: string; readonly reply: string; readonly reason: string }

/**
 * The size line of an upload: `<size>`; after put, optionally `<size> <key>`, the
 * client's key (64 hex) for its file, with which a cut upload can be continued.
 */
export const decideUploadSize = (line: LineResult, maxUploadBytes: number, verified = false): SizeDecision => {
  const text = line._tag === 'Line' ? line.text : `<${line.code}>`
  if (line._tag === 'Invalid') return { accepted: false, text, reply: errorReply('invalid size'), reason: line.message }
  const keyed = verified ? /^([0-9]{1,20}) ([0-9a-f]{64})$/.exec(line.text) : null
  if (keyed) {
    const size = parseSize(keyed[1]!, maxUploadBytes)
    if (typeof size === 'number') return { accepted: true, size, key: keyed[2]! }
    return { accepted: false, text, reply: errorReply(size.message), reason: size.message }
  }
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
  failedLogins: errorReply('too many failed logins'),
  shuttingDown: errorReply('server is shutting down'),
} as const

const formatSeconds = (ms: number): string => String(Math.round(ms / 100) / 10)
