import type { ActorSystem, AnyActorRef } from 'xstate'

/**
 * XState 5 cancels the delayed events of an actor that stops by scanning every delayed
 * event of its whole system (`scheduler.cancelAll`). Every invoked actor stops when it
 * finishes, so with 10,000 sessions each waiting on its idle timer, every command
 * scanned 10,000 timers: 10,000 idle sessions took about two minutes to answer one
 * command each (profile: `cancelAll` first). This keeps, per actor, the ids of the
 * events it scheduled, so that stopping it looks at those only. The scheduler's own
 * methods are wrapped in place, so XState's internal calls go through them too.
 */
export const indexDelayedEvents = (system: ActorSystem<any>): void => {
  const scheduler = system.scheduler
  const schedule = scheduler.schedule.bind(scheduler)
  const cancel = scheduler.cancel.bind(scheduler)
  const byActor = new Map<AnyActorRef, Set<string>>()
  scheduler.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    schedule(source, target, event, delay, id)
    let ids = byActor.get(source)
    if (!ids) byActor.set(source, (ids = new Set()))
    ids.add(id)
  }
  scheduler.cancel = (source, id) => {
    cancel(source, id)
    const ids = byActor.get(source)
    if (ids?.delete(id) && ids.size === 0) byActor.delete(source)
  }
  scheduler.cancelAll = (actorRef) => {
    const ids = byActor.get(actorRef)
    if (!ids) return
    byActor.delete(actorRef)
    // An id whose event already fired is no longer scheduled: cancelling it does nothing.
    for (const id of ids) cancel(actorRef, id)
  }
}
