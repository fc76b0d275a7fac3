import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { createActor, type Actor } from 'xstate'
import { StorageFailure } from '../errors.js'
import type { ClientOutcome, ClientSessionMachine } from '../machines/client-session.js'
import { Reply, type Command } from '../protocol/index.js'
import { ClientConnection } from './client-connection.js'
import type { Inspect } from './inspector.js'
import { createClientLogic, type ClientFolders } from './client-session-io.js'
import { acquireScoped } from './run-effect.js'

export interface ClientOptions {
  readonly host: string
  readonly port: number
  /** The client's folder: `Downloads` and `Uploads` are created inside it. */
  readonly dir: string
  /** Sees every event of the client's machine (Stately inspector). */
  readonly inspect?: Inspect
}

/** A command that did not succeed: `code` is the stable TOR_ERR_* code, `message` the one line to show. */
export class CommandFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'CommandFailed'
  }
}

export type Success = Extract<ClientOutcome, { ok: true }>

/** Reports the progress of a transfer; polled, so it costs nothing per chunk. */
export interface ProgressReporter {
  start(total: number, label: string): void
  update(done: number): void
  stop(): void
}

const PROGRESS_INTERVAL_MS = 100

const failureOf = (command: Command, outcome: ClientOutcome | undefined): CommandFailed => {
  if (!outcome || outcome.ok) return new CommandFailed('TOR_ERR_PEER_CLOSED', 'the server closed the connection')
  const message = outcome.message === Reply.notFound && 'name' in command ? `${Reply.notFound}: ${command.name}` : outcome.message
  return new CommandFailed(outcome.code, message)
}

/** One connection to a Tor-Server, driven through the client session machine. */
export class TorClient {
  private constructor(
    private readonly scope: Scope.CloseableScope,
    private readonly connection: ClientConnection,
    readonly actor: Actor<ClientSessionMachine>,
    readonly folders: ClientFolders,
  ) {}

  static async connect(options: ClientOptions): Promise<TorClient> {
    const folders = { downloads: path.join(options.dir, 'Downloads'), uploads: path.join(options.dir, 'Uploads') }
    const { value: connection, scope } = await acquireScoped(
      Effect.gen(function* () {
        yield* Effect.forEach(Object.values(folders), (dir) =>
          Effect.tryPromise({
            try: () => fs.mkdir(dir, { recursive: true }),
            catch: (cause) => new StorageFailure({ operation: `create ${dir}`, cause }),
          }),
        )
        return yield* ClientConnection.open(options.host, options.port)
      }),
    )
    const actor = createActor(createClientLogic(connection, folders), { inspect: options.inspect }).start()
    return new TorClient(scope, connection, actor, folders)
  }

  get connected(): boolean {
    return this.actor.getSnapshot().status === 'active'
  }

  /** Runs one command to its outcome; rejects with CommandFailed when it does not succeed. */
  run(command: Command, progress?: ProgressReporter): Promise<Success> {
    if (!this.connected) return Promise.reject(new CommandFailed('TOR_ERR_PEER_CLOSED', 'not connected'))
    return new Promise<Success>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const stopProgress = () => {
        if (timer) clearInterval(timer)
        timer = undefined
      }
      const subscription = this.actor.subscribe((snapshot) => {
        if (progress && !timer && snapshot.matches('transferring')) {
          progress.start(snapshot.context.size ?? 0, 'name' in command ? command.name : '')
          timer = setInterval(() => progress.update(this.connection.transferred), PROGRESS_INTERVAL_MS)
        }
        const finished = snapshot.status === 'done' || snapshot.matches('ready')
        if (!finished) return
        subscription.unsubscribe()
        if (timer) progress?.update(this.connection.transferred)
        stopProgress()
        progress?.stop()
        const outcome = snapshot.context.outcome
        if (outcome?.ok) resolve(outcome)
        else reject(failureOf(command, outcome))
      })
      this.actor.send({ type: 'user.command', command })
    })
  }

  /** Says `exit` when still connected, then releases the socket. */
  async close(): Promise<void> {
    if (this.connected && this.actor.getSnapshot().matches('ready')) await this.run({ verb: 'exit' }).catch(() => undefined)
    this.actor.stop()
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }
}
