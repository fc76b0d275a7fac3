import { initialTransition, transition, type AnyStateMachine } from 'xstate'
import type { TraceLine } from './format.js'

export type ReplayResult =
  | { readonly ok: true; readonly events: number }
  | { readonly ok: false; readonly line: number; readonly event: string; readonly expected: unknown; readonly actual: unknown }

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Replays a trace against a machine with the pure transition functions (no actor
 * runs, no I/O) and checks that every recorded state is reached again.
 */
export const replayTrace = (machine: AnyStateMachine, lines: readonly TraceLine[], firstLineNumber = 1): ReplayResult => {
  const [init, ...events] = lines
  let [snapshot] = initialTransition(machine, (init!.event as { input?: unknown }).input)
  if (!same(snapshot.value, init!.state)) {
    return { ok: false, line: firstLineNumber, event: 'xstate.init', expected: init!.state, actual: snapshot.value }
  }
  let count = 0
  for (let i = 0; i < events.length; i++) {
    const recorded = events[i]!
    for (let n = 0; n < (recorded.repeat ?? 1); n++, count++) {
      ;[snapshot] = transition(machine, snapshot, recorded.event as never)
      if (!same(snapshot.value, recorded.state)) {
        return { ok: false, line: firstLineNumber + i + 1, event: recorded.event.type, expected: recorded.state, actual: snapshot.value }
      }
    }
  }
  return { ok: true, events: count }
}

export const formatState = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))
