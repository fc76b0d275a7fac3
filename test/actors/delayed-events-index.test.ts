import { describe, expect, it } from 'vitest'
import { createActor, createMachine, SimulatedClock, stopChild } from 'xstate'
import { indexDelayedEvents } from '../../src/actors/delayed-events-index.js'

// A parent with many children, each waiting on a delayed transition, like a server with idle sessions.
const child = createMachine({ initial: 'waiting', states: { waiting: { after: { 1000: 'timedOut' } }, timedOut: { type: 'final' } } })

const startParent = (children: number) => {
  const parent = createMachine({
    types: {} as { events: { type: 'stop'; id: string } },
    context: ({ spawn }) => ({ refs: Array.from({ length: children }, (_, i) => spawn(child, { id: `c${i}` })) }),
    on: { stop: { actions: stopChild(({ event }) => event.id) } },
  })
  const clock = new SimulatedClock()
  const actor = createActor(parent, { clock })
  indexDelayedEvents(actor.system)
  actor.start()
  return { actor, clock }
}

describe('delayed events indexed by actor', () => {
  it('cancels only the timers of an actor that stops, and the others still fire', () => {
    const { actor, clock } = startParent(3)
    const [a, b, c] = actor.getSnapshot().context.refs
    actor.send({ type: 'stop', id: 'c0' })
    expect(Object.keys(actor.system.getSnapshot()._scheduledEvents)).toHaveLength(2)
    clock.increment(1000)
    expect(a!.getSnapshot().value).toBe('waiting')
    expect(b!.getSnapshot().status).toBe('done')
    expect(c!.getSnapshot().status).toBe('done')
  })

  it('does not look at every scheduled timer when one actor stops (with 10,000 waiting, a command scanned them all)', () => {
    const { actor } = startParent(10_000)
    // The system's own record of delayed events (getSnapshot gives a copy).
    const internal = actor.system as unknown as { _snapshot: { _scheduledEvents: Record<string, unknown> } }
    const events = internal._snapshot._scheduledEvents
    let reads = 0
    // Count the keys XState's own cancelAll would enumerate: an indexed cancel enumerates none of the others.
    const proxy = new Proxy(events, {
      ownKeys: (target) => {
        reads++
        return Reflect.ownKeys(target)
      },
    })
    internal._snapshot._scheduledEvents = proxy
    actor.send({ type: 'stop', id: 'c42' })
    expect(reads).toBe(0)
    expect(Object.keys(events)).toHaveLength(9_999)
  })
})
