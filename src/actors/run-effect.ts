import * as Cause from 'effect/Cause'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'

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

/**
 * Acquires `effect`'s resources in a new scope and returns them with the scope,
 * which the caller closes when done. If acquiring fails, whatever was acquired is
 * released and the failure is thrown as the tagged error itself.
 */
export const acquireScoped = async <A, E>(
  effect: Effect.Effect<A, E, Scope.Scope>,
): Promise<{ readonly value: A; readonly scope: Scope.CloseableScope }> => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(effect, scope))
  if (Exit.isSuccess(exit)) return { value: exit.value, scope }
  await Effect.runPromise(Scope.close(scope, exit))
  throw Cause.squash(exit.cause)
}
