import { mkdirSync } from 'node:fs'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { createActor, type Actor } from 'xstate'
import { Cancelled, PeerClosed, ReplyTimeout, StorageFailure, type TorError } from '../errors.js'
import type { ClientOutcome, ClientSessionMachine, ManyFileOutcome, SentAhead } from '../machines/client-session.js'
import { encodeCommand, type Command } from '../protocol/index.js'
import { ClientConnection } from './client-connection.js'
import { isLoopback } from './transport.js'
import type { Inspect } from './inspector.js'
import { createClientLogic, removeOrphanDownloadsSync, type ClientFolders, type ManyListener } from './client-session-io.js'
import { acquireScoped } from './run-effect.js'

export interface ClientOptions {
  readonly host: string
  readonly port: number
  /** The client's folder: `Downloads` and `Uploads` are created inside it. */
  readonly dir: string
  /** Seconds the server may stay silent during a command before it fails with ReplyTimeout. */
  readonly timeout?: number
  /** TLS on or off; undefined: on for every host that is not loopback. */
  readonly tls?: boolean
  /** The server certificate's SHA-256 fingerprint, pinned up front. */
  readonly fingerprint?: string
  /** Tells the user something on stderr (a server trusted on first use). */
  readonly say?: (line: string) => void
  /** Log in with this account and token right after connecting. */
  readonly login?: { readonly account: string; readonly token: string }
  /** Sees every event of the client's machine (Stately inspector). */
  readonly inspect?: Inspect
}

export type Success = Extract<ClientOutcome, { ok: true }>

/** Reports the progress of a transfer; polled, so it costs nothing per chunk. */
export interface ProgressReporter {
  /** A download was asked for and the server has not answered for WAITING_NOTICE_MS (it may be hashing the file). */
  waiting?(label: string): void
  start(total: number, label: string): void
  update(done: number): void
  stop(): void
}

const PROGRESS_INTERVAL_MS = 100
/**
 * A download the server has not answered after this long is said to be waiting: a server hashes a file it has not
 * served before (put in its folder by hand, just now) before it answers, about a second per 1.5 GB, silently.
 */
const WAITING_NOTICE_MS = 1000
/** How long `close` waits for the server's answer to exit (or, hanging up, for `exit` to go out). */
const EXIT_LINGER_MS = 1000

const failureOf = (outcome: ClientOutcome | undefined): TorError =>
  outcome && !outcome.ok ? outcome.error : new PeerClosed({})

/** One connection to a Tor-Server, driven through the client session machine. */
export class TorClient {
  private cancelledWith: Cancelled | undefined

  private constructor(
    private readonly scope: Scope.CloseableScope,
    private readonly connection: ClientConnection,
    readonly actor: Actor<ClientSessionMachine>,
    readonly folders: ClientFolders,
    private readonly timeoutMs: number | undefined,
    private readonly many: ManyListener,
    /** The account this connection logs in with (a server keeps an account's cut uploads to continue). */
    readonly account?: string,
  ) {
    // The server may end the connection while no command runs (idle timeout, kicked, shutting down),
    // or while the last command was still finishing on this side (a download being renamed into place):
    // either way the machine hears of it once it is ready. Deferred, so that a command's own outcome is
    // reported first.
    const noticeEnd = () => {
      if (connection.ended && this.actor.getSnapshot().matches('ready')) {
        this.actor.send({ type: 'connection.ended', reason: connection.takeUnsolicitedError() })
      }
    }
    connection.onEnded(noticeEnd)
    actor.subscribe(() => queueMicrotask(noticeEnd))
  }

  static async connect(options: ClientOptions): Promise<TorClient> {
    const folders = { downloads: path.join(options.dir, 'Downloads'), uploads: path.join(options.dir, 'Uploads') }
    const { value: connection, scope } = await acquireScoped(
      // The folders first, with synchronous calls (a client process holds up no one; each thread-pool round trip
      // and its promise cost more than the call), then the connection.
      Effect.try({
        try: () => {
          for (const dir of Object.values(folders)) {
            try {
              mkdirSync(dir, { recursive: true })
            } catch (cause) {
              throw new StorageFailure({ operation: `create ${dir}`, cause })
            }
          }
          removeOrphanDownloadsSync(folders.downloads)
        },
        catch: (error) => (error instanceof StorageFailure ? error : new StorageFailure({ operation: `clean up ${folders.downloads}`, cause: error })),
      }).pipe(
        Effect.zipRight(
          ClientConnection.open({
            host: options.host,
            port: options.port,
            tls: options.tls ?? !isLoopback(options.host),
            trust: { dir: options.dir, fingerprint: options.fingerprint, say: options.say ?? (() => undefined) },
          }),
        ),
      ),
    )
    const many: ManyListener = {}
    const actor = createActor(createClientLogic(connection, folders, many), { inspect: options.inspect }).start()
    const client = new TorClient(scope, connection, actor, folders, options.timeout === undefined ? undefined : options.timeout * 1000, many, options.login?.account)
    if (options.login) {
      await client.run({ verb: 'auth', ...options.login }).catch(async (error: unknown) => {
        await client.close()
        throw error
      })
    }
    return client
  }

  /** True over TLS. */
  get encrypted(): boolean {
    return this.connection.encrypted
  }

  get connected(): boolean {
    return this.actor.getSnapshot().status === 'active'
  }

  /** Why the connection is gone, when it is. */
  get closedBecause(): TorError | undefined {
    const snapshot = this.actor.getSnapshot()
    return snapshot.status === 'active' ? undefined : failureOf(snapshot.context.outcome)
  }

  /**
   * Writes a download's get line now, ahead of the replies still to read (a pipelined
   * batch); `run` it later with the same `sentAhead`, in the order written.
   */
  sendAhead(name: string, partial: { offset: number; expected: string } | undefined): void {
    this.connection.write(encodeCommand({ verb: 'get', offset: partial?.offset ?? 0, expected: partial?.expected, name }))
  }

  /**
   * Writes a small file's store (its line and bytes) now, ahead of the replies still to read;
   * `run` its upload later with `{ stored }`, in the order written. Only to a server whose
   * `features` list store: to any other the bytes would read as commands.
   */
  storeAhead(name: string, bytes: Uint8Array, sha256: string): void {
    this.connection.writeWithPayload(encodeCommand({ verb: 'store', size: bytes.length, sha256, name }), bytes)
  }

  private featureList: Promise<readonly string[]> | undefined

  /** The protocol extensions the server speaks (asked once per connection; none from a seed-protocol server). */
  features(): Promise<readonly string[]> {
    this.featureList ??= this.run({ verb: 'features' }).then(
      (outcome) => (outcome.kind === 'features' ? outcome.features : []),
      (error: unknown) => {
        // A server that knows no features answers it as an unknown command: it has none.
        if ((error as TorError | undefined)?.code === 'TOR_ERR_REFUSED') return []
        throw error
      },
    )
    return this.featureList
  }

  /**
   * Downloads whole files with one gets (only to a server whose features list gets); `onFile`
   * hears each file as it ends. Resolves with every file's outcome; rejects when the connection
   * is lost (the files `onFile` heard of are done, the rest are not).
   */
  async receiveMany(names: readonly string[], onFile?: (index: number, outcome: ManyFileOutcome) => void): Promise<readonly ManyFileOutcome[]> {
    this.many.onFile = onFile
    try {
      const outcome = await this.run({ verb: 'gets', names })
      return outcome.kind === 'receivedMany' ? outcome.files : []
    } finally {
      this.many.onFile = undefined
    }
  }

  /**
   * Uploads small files of Uploads with one stores (only to a server whose features list it), up to
   * the first file too large for it; `onFile` hears each file as it ends, `onSent` each entry written.
   * Resolves with every file's outcome and how many names were taken; rejects when the connection is lost.
   */
  async sendMany(
    names: readonly string[],
    listener: { onFile?: (index: number, outcome: ManyFileOutcome) => void; onSent?: (index: number) => void } = {},
  ): Promise<{ files: readonly ManyFileOutcome[]; handled: number }> {
    this.many.onFile = listener.onFile
    this.many.onSent = listener.onSent
    try {
      const outcome = await this.run({ verb: 'stores' }, undefined, undefined, names)
      return outcome.kind === 'sentMany' ? { files: outcome.files, handled: outcome.handled } : { files: [], handled: 0 }
    } finally {
      this.many.onFile = undefined
      this.many.onSent = undefined
    }
  }

  /** True once the server answered a get as an unknown command (it speaks the seed protocol only). */
  get lacksGet(): boolean {
    return this.actor.getSnapshot().context.getUnsupported
  }

  /** Runs one command to its outcome; rejects with the command's TorError when it does not succeed. */
  run(command: Command, progress?: ProgressReporter, sentAhead?: SentAhead, batch?: readonly string[]): Promise<Success> {
    if (!this.connected) return Promise.reject(this.closedBecause ?? new PeerClosed({}))
    return new Promise<Success>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const watchdog = this.startWatchdog()
      const waiting = progress?.waiting && command.verb === 'download' ? setTimeout(() => progress.waiting!(command.name), WAITING_NOTICE_MS) : undefined
      const stopProgress = () => {
        if (timer) clearInterval(timer)
        timer = undefined
      }
      const subscription = this.actor.subscribe((snapshot) => {
        // Any answer but the first reply's wait (ok, then found and the size line, all come once the server knows the hash).
        if (waiting && (snapshot.matches('transferring') || snapshot.status === 'done' || snapshot.matches('ready'))) clearTimeout(waiting)
        if (progress && !timer && (snapshot.matches({ transferring: 'downloading' }) || snapshot.matches({ transferring: 'uploading' }))) {
          // A resumed transfer starts its bar where the part already there ends.
          const from = snapshot.matches({ transferring: 'downloading' }) ? (snapshot.context.verified?.from ?? 0) : snapshot.context.uploadFrom
          progress.start(snapshot.context.size ?? 0, 'name' in command ? command.name : '')
          timer = setInterval(() => progress.update(from + this.connection.transferred), PROGRESS_INTERVAL_MS)
        }
        const finished = snapshot.status === 'done' || snapshot.matches('ready')
        if (!finished) return
        subscription.unsubscribe()
        if (watchdog) clearInterval(watchdog)
        if (timer) progress?.update((snapshot.context.verified?.from ?? snapshot.context.uploadFrom) + this.connection.transferred)
        stopProgress()
        progress?.stop()
        const outcome = snapshot.context.outcome
        if (outcome?.ok) resolve(outcome)
        else reject(failureOf(outcome))
      })
      this.actor.send({ type: 'user.command', command, ...(sentAhead ? { sentAhead } : {}), ...(batch ? { batch } : {}) })
    })
  }

  /** Cancels the command in progress (Ctrl-C): the connection is dropped; a verified download keeps its part to resume, nothing else partial is kept. */
  cancel(what: string): void {
    this.cancelledWith ??= new Cancelled({ what })
    this.connection.fail(this.cancelledWith)
  }

  /** Set once `cancel` was called: whoever runs several commands on this client stops there (it is not a lost connection to make again). */
  get cancelled(): Cancelled | undefined {
    return this.cancelledWith
  }

  /**
   * Says `exit` when still connected, then releases the socket. The server's reply is waited for a
   * moment (not for ever), or not at all with `hangUp` (a one-shot command that has what it came for:
   * the round trip was about 2 ms of its start); what was written goes out before the socket closes.
   */
  async close(options: { readonly hangUp?: boolean } = {}): Promise<void> {
    if (this.connected && this.actor.getSnapshot().matches('ready')) {
      let linger: NodeJS.Timeout | undefined
      // A server that stops reading (or answering) must not hold the command: the socket is destroyed after it.
      const lingered = new Promise<void>((resolve) => (linger = setTimeout(resolve, EXIT_LINGER_MS)))
      if (options.hangUp) {
        this.actor.send({ type: 'user.hangUp' })
        await Promise.race([this.connection.whenClosed(), lingered])
      } else await Promise.race([this.run({ verb: 'exit' }).catch(() => undefined), lingered])
      clearTimeout(linger)
    }
    this.actor.stop()
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }

  /** Fails the command in progress when no byte has moved for the timeout. */
  private startWatchdog(): NodeJS.Timeout | undefined {
    const timeoutMs = this.timeoutMs
    if (timeoutMs === undefined) return undefined
    this.connection.lastActivity = Date.now()
    const check = setInterval(() => {
      if (Date.now() - this.connection.lastActivity >= timeoutMs) {
        clearInterval(check)
        this.connection.fail(new ReplyTimeout({ seconds: timeoutMs / 1000 }))
      }
    }, Math.min(1000, Math.max(10, timeoutMs / 4)))
    check.unref()
    return check
  }
}
