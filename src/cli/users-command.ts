import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import * as Effect from 'effect/Effect'
import { isTorError } from '../errors.js'

export const stateDirFlag = {
  'state-dir': Flags.string({ description: "the server's own folder (as given to tor server start)", default: './.tor-server' }),
}

/** Base of `tor server users ...`: runs an accounts Effect, one-line errors with exit 1. */
export abstract class UsersCommand extends Command {
  protected async perform<A>(effect: Effect.Effect<A, { message: string }>): Promise<A> {
    return Effect.runPromise(Effect.either(effect)).then((result) => {
      if (result._tag === 'Right') return result.right
      const error = result.left
      return this.error(isTorError(error) ? `${error.message} [${error.code}]` : error.message, { exit: 1 })
    })
  }
}
