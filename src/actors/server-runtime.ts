import * as net from 'node:net'
import * as Deferred from 'effect/Deferred'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { createActor, fromCallback, type Actor } from 'xstate'
import { ListenFailed } from '../errors.js'
import { serverMachine, type ServerMachine } from '../machines/server.js'
import type { SessionLog } from '../machines/server-session.js'
import { FolderCatalog } from '../storage/catalog.js'
import { openServedFolder } from '../storage/folder.js'
import { Connection } from './connection.js'
import type { Inspect } from './inspector.js'
import { formatSessionLog } from './server-log.js'
import { acquireScoped } from './run-effect.js'
import { createSessionLogic, SessionPort, type SessionPorts } from './server-session-io.js'

export interface ServerOptions {
  readonly host: string
  readonly port: number
  readonly dir: string
  readonly maxUploadBytes: number
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
  readonly root: string
  readonly actor: Actor<ServerMachine>
  /** One line typed at the admin console. */
  consoleLine(line: string): void
  /** Stops at once: every connection is closed, uploads in flight are discarded. */
  shutdown(): void
  /** Resolves when the server has stopped and released everything. */
  readonly stopped: Promise<void>
}

const listen = (host: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<net.Server, ListenFailed>((resume) => {
      const server = net.createServer({ noDelay: true })
      server.once('error', (cause) => resume(Effect.fail(new ListenFailed({ host, port, cause }))))
      server.listen({ host, port, backlog: 4096 }, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void))),
  )

const acquireServer = (options: ServerOptions) =>
  Effect.gen(function* () {
    const folder = yield* openServedFolder(options.dir)
    const catalog = yield* Effect.acquireRelease(
      Effect.sync(() => new FolderCatalog(folder)),
      (catalog) => Effect.sync(() => catalog.close()),
    )
    const server = yield* listen(options.host, options.port)
    const log = (clientId: string, entry: SessionLog) => options.log(formatSessionLog(clientId, entry))

    // Every accepted connection has a port until its session ends; on shutdown the rest are released
    // (sockets, staged downloads) before the listener closes, which waits for its connections.
    const ports: SessionPorts = new Map()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const port of ports.values()) port.release()
        ports.clear()
      }),
    )
    let accepted = 0
    const logic = serverMachine.provide({
      actors: {
        session: createSessionLogic(ports, { folder, catalog, log }),
        acceptConnections: fromCallback(({ sendBack }) => {
          const onConnection = (socket: net.Socket) => {
            const clientId = `client-${++accepted}`
            const connection = new Connection(socket, { maxLineBytes: options.maxLineBytes })
            ports.set(clientId, new SessionPort(connection))
            sendBack({
              type: 'client.connected',
              clientId,
              address: connection.remoteAddress,
              port: connection.remotePort,
              connectedAt: Date.now(),
            })
          }
          server.on('connection', onConnection)
          return () => server.off('connection', onConnection)
        }),
      },
      actions: {
        logClient: (_, { what, client, detail }) => {
          const who = `${client.id} ${client.address}:${client.port}`
          if (what === 'online') options.log(`${who} is online now`)
          else if (what === 'offline') options.log(`${who} is offline`)
          else options.log(`${who} session failed: ${detail}`)
        },
        releaseConnection: (_, client) => {
          ports.get(client.id)?.release()
          ports.delete(client.id)
        },
        printConsole: (_, { lines }) => lines.forEach((line) => options.answer(line)),
        clearConsole: () => options.clear?.(),
      },
    })
    const actor = yield* Effect.acquireRelease(
      Effect.sync(() => createActor(logic, { input: { maxUploadBytes: options.maxUploadBytes }, inspect: options.inspect })),
      (actor) => Effect.sync(() => actor.stop()),
    )
    const address = server.address() as net.AddressInfo
    return { actor, address, root: folder.root }
  })

/** Opens the folder, listens, and starts the server actor. */
export const startServer = async (options: ServerOptions): Promise<RunningServer> => {
  const { value, scope } = await acquireScoped(acquireServer(options))
  const { actor, address, root } = value
  const done = Effect.runSync(Deferred.make<void>())
  actor.subscribe({
    complete: () => Effect.runSync(Deferred.succeed(done, undefined)),
    error: () => Effect.runSync(Deferred.succeed(done, undefined)),
  })
  actor.start()
  const stopped = Effect.runPromise(
    Deferred.await(done).pipe(Effect.zipRight(Scope.close(scope, Exit.void))),
  )
  return {
    host: address.address,
    port: address.port,
    root,
    actor,
    consoleLine: (line) => actor.send({ type: 'console.line', line, now: Date.now() }),
    shutdown: () => actor.send({ type: 'server.shutdown' }),
    stopped,
  }
}
