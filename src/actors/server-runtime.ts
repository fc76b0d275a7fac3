import * as net from 'node:net'
import * as Context from 'effect/Context'
import * as Deferred from 'effect/Deferred'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Layer from 'effect/Layer'
import * as Scope from 'effect/Scope'
import { createActor, fromCallback, type Actor } from 'xstate'
import { ListenFailed, type StorageFailure } from '../errors.js'
import { serverMachine, type ServerLimits, type ServerMachine } from '../machines/server.js'
import type { SessionLog } from '../machines/server-session.js'
import { Storage } from '../storage/storage.js'
import { Connection } from './connection.js'
import type { Inspect } from './inspector.js'
import { acquireScoped } from './run-effect.js'
import { formatSessionLog } from './server-log.js'
import { createSessionLogic, SessionPort } from './server-session-io.js'
import { createTransportServer, type ServerTls } from './transport.js'

/** Defaults chosen like the trusted servers choose theirs (vsftpd: 300 s idle; pyftpdlib: 512 clients). */
export const DEFAULT_LIMITS: ServerLimits = {
  maxClients: 512,
  maxPerIp: 32,
  drainTimeoutMs: 30_000,
  session: {
    maxUploadBytes: 64 * 1024 ** 3,
    idleTimeoutMs: 300_000,
    stallTimeoutMs: 60_000,
    maxRefusals: 32,
    anonymous: ['read', 'upload', 'overwrite'],
    loginDelayMs: 500,
    maxFailedLogins: 3,
  },
}

export interface ServerOptions {
  readonly host: string
  readonly port: number
  /** Where the files are (the local folder, S3...): built when the server starts, released when it stops. */
  readonly storage: Layer.Layer<Storage, StorageFailure>
  readonly limits: ServerLimits
  /** Serve TLS only (no clear text on the port) with this key and certificate. */
  readonly tls?: ServerTls
  /** The server's own folder (accounts). */
  readonly stateDir: string
  readonly maxLineBytes?: number
  /** One log line: connections, refused commands, transfers. */
  readonly log: (line: string) => void
  /** One line of an answer to the admin console. */
  readonly answer: (line: string) => void
  /** Clears the operator's terminal. */
  readonly clear?: () => void
  /** Sees every event of the server's actor system (trace recorder, Stately inspector). */
  readonly inspect?: Inspect
}

export interface RunningServer {
  readonly host: string
  readonly port: number
  /** The storage's location: a folder's real path, or s3://bucket/prefix. */
  readonly location: string
  readonly actor: Actor<ServerMachine>
  /** One line typed at the admin console. */
  consoleLine(line: string): void
  /** First call: stop accepting and let transfers finish (drain); second call: stop at once. */
  shutdown(): void
  /** Resolves when the server has stopped and released everything. */
  readonly stopped: Promise<void>
}

const listen = (host: string, port: number, tls: ServerTls | undefined) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof createTransportServer>, ListenFailed>((resume) => {
      const transport = createTransportServer({ tls })
      transport.server.once('error', (cause) => resume(Effect.fail(new ListenFailed({ host, port, cause }))))
      transport.server.listen({ host, port, backlog: 4096 }, () => resume(Effect.succeed(transport)))
    }),
    ({ server }) => Effect.async<void>((resume) => void (server.listening ? server.close(() => resume(Effect.void)) : resume(Effect.void))),
  )

const acquireServer = (options: ServerOptions) =>
  Effect.gen(function* () {
    // Built in the server's scope (not with Effect.provide, which would release it once this effect returns).
    const storage = Context.get(yield* Layer.build(options.storage), Storage)
    const { server, readyEvent, accept } = yield* listen(options.host, options.port, options.tls)
    const log = (clientId: string, entry: SessionLog) => options.log(formatSessionLog(clientId, entry))
    const { stallTimeoutMs } = options.limits.session

    // Every connection's port until its session ends; on shutdown the rest are released
    // (sockets, staged files) before the listener closes, which waits for its connections.
    const open = new Set<SessionPort>()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const port of open) port.release()
        open.clear()
      }),
    )
    let accepted = 0
    const sessionLogic = createSessionLogic({ storage, log, stateDir: options.stateDir, progressIntervalMs: Math.min(1000, Math.max(10, stallTimeoutMs / 4)) })
    const logic = serverMachine.provide({
      actors: {
        acceptConnections: fromCallback(({ sendBack }) => {
          const onConnection = (socket: net.Socket) => {
            const clientId = `client-${++accepted}`
            const connection = new Connection(accept(socket), { maxLineBytes: options.maxLineBytes, closeLingerMs: stallTimeoutMs })
            const io = new SessionPort(connection)
            open.add(io)
            // Its own actor system: nothing in it grows with the number of clients.
            const session = createActor(sessionLogic, { id: clientId, systemId: clientId, input: { clientId, limits: options.limits.session, io }, inspect: options.inspect })
            sendBack({
              type: 'client.connected',
              clientId,
              address: connection.remoteAddress,
              port: connection.remotePort,
              connectedAt: Date.now(),
              tls: options.tls !== undefined,
              io,
              session,
            })
          }
          server.on(readyEvent, onConnection)
          return () => server.off(readyEvent, onConnection)
        }),
      },
      actions: {
        startSession: ({ self }, { clientId, session }) => {
          session.subscribe({
            complete: () => self.send({ type: 'session.ended', clientId }),
            error: (error) => self.send({ type: 'session.ended', clientId, error }),
          })
          session.start()
        },
        stopSessions: (_, { sessions }) => sessions.forEach((session) => session.stop()),
        logClient: (_, { what, client, detail }) => {
          const who = `${client.id} ${client.address}:${client.port}`
          if (what === 'online') options.log(`${who} is online now`)
          else if (what === 'offline') options.log(`${who} is offline`)
          else options.log(`${who} session failed: ${detail}`)
        },
        refuseConnection: (_, { io, address, port, reply, reason }) => {
          const session = io as SessionPort
          open.delete(session)
          session.connection.write([reply])
          session.connection.close()
          options.log(`refused a connection from ${address}:${port}: ${reason}`)
        },
        releaseConnection: (_, client) => {
          const session = client.ref.getSnapshot().context.io as SessionPort
          session.release()
          open.delete(session)
        },
        stopListening: () => void server.close(),
        drainSessions: (_, { sessions }) => sessions.forEach((session) => session.send({ type: 'session.drain' })),
        log: (_, { line }) => options.log(line),
        printConsole: (_, { lines }) => lines.forEach((line) => options.answer(line)),
        clearConsole: () => options.clear?.(),
      },
    })
    const actor = yield* Effect.acquireRelease(
      Effect.sync(() => createActor(logic, { input: { limits: options.limits }, inspect: options.inspect })),
      (actor) =>
        Effect.sync(() => {
          // Sessions are not its children: stopped with it here, whatever state it stopped in.
          for (const client of actor.getSnapshot().context.clients.values()) client.ref.stop()
          actor.stop()
        }),
    )
    const address = server.address() as net.AddressInfo
    return { actor, address, location: storage.location }
  })

/** Opens the folder, listens, and starts the server actor. */
export const startServer = async (options: ServerOptions): Promise<RunningServer> => {
  const { value, scope } = await acquireScoped(acquireServer(options))
  const { actor, address, location } = value
  const done = Effect.runSync(Deferred.make<void>())
  actor.subscribe({
    complete: () => Effect.runSync(Deferred.succeed(done, undefined)),
    error: () => Effect.runSync(Deferred.succeed(done, undefined)),
  })
  actor.start()
  const stopped = Effect.runPromise(Deferred.await(done).pipe(Effect.zipRight(Scope.close(scope, Exit.void))))
  return {
    host: address.address,
    port: address.port,
    location,
    actor,
    consoleLine: (line) => actor.send({ type: 'console.line', line, now: Date.now() }),
    shutdown: () => actor.send({ type: 'server.shutdown' }),
    stopped,
  }
}
