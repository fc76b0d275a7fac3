import { redactLine } from '../protocol/messages.js'

/**
 * A session trace is JSON Lines, one machine event per line:
 *
 *     {"ts":"2026-11-24T10:00:00.000Z","machine":"server-session","event":{"type":"xstate.init","input":{...}},"state":"awaitingCommand"}
 *     {"ts":"2026-11-24T10:00:00.004Z","event":{"type":"xstate.done.actor.readCommand","output":{"_tag":"Line","text":"show"}},"state":"streamingList"}
 *
 * `event` is the event as the machine received it (type and payload; errors as
 * {_tag, code, message}); `state` is the state value after it. Names and byte
 * counts are kept; file contents never pass through the machine, so never here.
 * The same event with the same state after it, several times in a row (a client
 * repeating a refused line), is one line with `"repeat": n`.
 */
export interface TraceLine {
  readonly ts: string
  readonly machine?: string
  readonly event: { readonly type: string; readonly [key: string]: unknown }
  readonly state: unknown
  /** How many times in a row this event came with this state after it (1 when absent). */
  readonly repeat?: number
}

/** Keys that hold live objects (a session's I/O, spawned actor refs): never written to a trace. */
const LIVE_KEYS = new Set(['io', 'ref'])

/** JSON for an event: errors become {_tag, code, message}; binary data is replaced by its length; live objects are left out. */
export const serializeEvent = (event: object): string =>
  JSON.stringify(event, (key, value: unknown) => {
    if (LIVE_KEYS.has(key)) return undefined
    // Secrets never reach a trace: an auth line keeps its account only.
    if (key === 'token') return '<token>'
    if (key === 'text' && typeof value === 'string') return redactLine(value)
    if (value instanceof Error || (typeof value === 'object' && value !== null && '_tag' in value && 'message' in value)) {
      const e = value as { _tag?: string; code?: string; message?: string; name?: string }
      return { _tag: e._tag ?? e.name, code: e.code, message: e.message }
    }
    if (value instanceof Uint8Array) return `<${value.length} bytes>`
    return value
  })

export const traceLine = (line: TraceLine): string =>
  `{"ts":${JSON.stringify(line.ts)}${line.machine ? `,"machine":${JSON.stringify(line.machine)}` : ''},"event":${serializeEvent(line.event)},"state":${JSON.stringify(line.state)}${line.repeat && line.repeat > 1 ? `,"repeat":${line.repeat}` : ''}}`

export type ParsedTrace = { readonly lines: readonly TraceLine[] } | { readonly line: number; readonly problem: string }

export const parseTrace = (text: string): ParsedTrace => {
  const lines: TraceLine[] = []
  const raw = text.split('\n')
  for (let i = 0; i < raw.length; i++) {
    const source = raw[i]!.trim()
    if (source === '') continue
    let value: unknown
    try {
      value = JSON.parse(source)
    } catch {
      return { line: i + 1, problem: 'not valid JSON' }
    }
    const candidate = value as Partial<TraceLine>
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.event?.type !== 'string' || !('state' in candidate)) {
      return { line: i + 1, problem: 'not a trace line (needs "event" with a "type", and "state")' }
    }
    if (candidate.repeat !== undefined && !(Number.isSafeInteger(candidate.repeat) && candidate.repeat >= 1)) {
      return { line: i + 1, problem: '"repeat" must be a whole number of at least 1' }
    }
    if (lines.length === 0 && candidate.event.type !== 'xstate.init') {
      return { line: i + 1, problem: 'the first line must be the xstate.init event' }
    }
    lines.push(candidate as TraceLine)
  }
  if (lines.length === 0) return { line: 1, problem: 'empty trace' }
  return { lines }
}
