import * as Cause from 'effect/Cause'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'

/**
 * Runs an Effect for an XState `fromPromise` actor. Leaving the invoking state
 * aborts `signal`, which interrupts the fiber and runs its finalizers. A failure
 * rejects with the tagged error itself (not Effect's FiberFailure wrapper), so the
 * machine's `onError` sees e.g. a `PeerClosed` with its `_tag` and `code`.
 */
export const runForActor = async <A, E>(effect: Effect.Effect<A, E>, signal?: AbortSignal): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect, signal ? { signal } : undefined)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}
