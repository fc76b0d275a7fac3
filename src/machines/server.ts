import { assign, fromCallback, sendTo, setup, type ActorRefFrom, type AnyActorRef } from 'xstate'
import { errorReply } from '../protocol/index.js'
import { decideConsole, type ClientRow, type ConsoleDecision } from './console-rules.js'
import type { ServerSessionMachine } from './server-session.js'
import type { CommandDecision, SessionLimits } from './session-rules.js'

/**
 * The server actor: accepts connections within the limits (in total and per
 * address), starts one session actor per client (id `client-<n>`), keeps the list
 * of online clients and answers the admin console. A session that fails is
 * forgotten like one that ended; the others and the server go on. On shutdown it
 * stops accepting, lets transfers in flight finish (up to drainTimeout), then
 * stops every session left; a second shutdown stops at once.
 *
 * Sessions are not this actor's children but actors of their own (each its own
 * actor system), made by the acceptor and started here when admitted; their end
 * comes back as `session.ended`. XState copies a parent's record of children on
 * every spawn and stop: with sessions as children, each connect and disconnect cost
 * O(clients) (3 ms each at 10,000 clients, measured), on the loop every client shares.
 */

export interface ServerLimits {
  readonly maxClients: number
  readonly maxPerIp: number
  readonly drainTimeoutMs: number
  readonly session: SessionLimits
}

export interface ServerInput {
  readonly limits: ServerLimits
}

export interface OnlineClient {
  readonly id: string
  readonly address: string
  readonly port: number
  readonly connectedAt: number
  readonly tls: boolean
  readonly ref: ActorRefFrom<ServerSessionMachine>
}

export interface ServerContext extends ServerInput {
  /**
   * The online clients by id, and how many come from each address: Maps the machine's own
   * assign actions (admitClient, forgetClient) update in place. Copying a record of every
   * client on every connect and disconnect made each of them O(clients): 10,000 clients
   * connecting at once took minutes.
   */
  readonly clients: ReadonlyMap<string, OnlineClient>
  readonly perAddress: ReadonlyMap<string, number>
  /** The decision on the last console line, taken once. */
  readonly console: ConsoleDecision | undefined
}

export type ServerEvent =
  | {
      readonly type: 'client.connected'
      readonly address: string
      readonly port: number
      readonly connectedAt: number
      /** Assigned by the acceptor. */
      readonly clientId: string
      /** Came over TLS. */
      readonly tls: boolean
      /** The connection's I/O (opaque here). */
      readonly io: unknown
      /** The client's session actor, made with the I/O in its input and not started: started if the client is admitted. */
      readonly session: ActorRefFrom<ServerSessionMachine>
    }
  /** A session reached its end (the client left, was closed or kicked), or failed (`error`). */
  | { readonly type: 'session.ended'; readonly clientId: string; readonly error?: unknown }
  | { readonly type: 'console.line'; readonly line: string; readonly now: number }
  | { readonly type: 'server.shutdown' }

type Connected = Extract<ServerEvent, { type: 'client.connected' }>

const notProvided = (what: string) => () => {
  throw new Error(`${what} is provided by src/actors; this machine definition has no I/O`)
}

type SessionEnded = Extract<ServerEvent, { type: 'session.ended' }>

const stateName = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${k}.${stateName(v)}`)
        .join(',')

/** What a gets or a stores in progress moves, for the console (the files' bytes so far). */
const batchOf = (decision: CommandDecision | undefined, done: number): ClientRow['transfer'] => {
  if (decision?.next === 'downloadMany') return { direction: 'download', name: `${decision.files.length} files (gets)`, done }
  if (decision?.next === 'uploadMany') return { direction: 'upload', name: 'files (stores)', done }
  return undefined
}

export const clientRows = (clients: ServerContext['clients']): ClientRow[] =>
  [...clients.values()].map((c) => {
    const snapshot = c.ref.getSnapshot()
    const { transfer, transferred, idleSince, account } = snapshot.context
    return {
      id: c.id,
      account,
      tls: c.tls,
      address: c.address,
      port: c.port,
      connectedAt: c.connectedAt,
      state: stateName(snapshot.value),
      idleSince: snapshot.value === 'awaitingCommand' ? idleSince : undefined,
      transfer: transfer ? { direction: transfer.direction, name: transfer.name, done: transferred, size: transfer.size } : batchOf(snapshot.context.decision, transferred),
    }
  })


const sessionEnded = [
  {
    type: 'logClient' as const,
    params: ({ context, event }: { context: ServerContext; event: ServerEvent }) => {
      const { clientId, error } = event as SessionEnded
      return { what: error === undefined ? ('offline' as const) : ('failed' as const), client: context.clients.get(clientId)!, detail: error === undefined ? undefined : String(error) }
    },
  },
  {
    type: 'releaseConnection' as const,
    params: ({ context, event }: { context: ServerContext; event: ServerEvent }) => context.clients.get((event as SessionEnded).clientId)!,
  },
  'forgetClient' as const,
]

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    input: {} as ServerInput,
    events: {} as ServerEvent,
  },
  delays: {
    drainTimeout: ({ context }) => context.limits.drainTimeoutMs,
  },
  actors: {
    acceptConnections: fromCallback(notProvided('acceptConnections')),
  },
  actions: {
    admitClient: assign(({ context, event }) => {
      const { clientId: id, address, port, connectedAt, tls, session: ref } = event as Connected
      ;(context.clients as Map<string, OnlineClient>).set(id, { id, address, port, connectedAt, tls, ref })
      ;(context.perAddress as Map<string, number>).set(address, (context.perAddress.get(address) ?? 0) + 1)
      return { clients: context.clients, perAddress: context.perAddress }
    }),
    forgetClient: assign(({ context, event }) => {
      const gone = context.clients.get((event as SessionEnded).clientId)
      if (gone) {
        ;(context.clients as Map<string, OnlineClient>).delete(gone.id)
        const left = (context.perAddress.get(gone.address) ?? 1) - 1
        if (left > 0) (context.perAddress as Map<string, number>).set(gone.address, left)
        else (context.perAddress as Map<string, number>).delete(gone.address)
      }
      return { clients: context.clients, perAddress: context.perAddress }
    }),
    decideConsole: assign({
      console: ({ context, event }) => {
        const { line, now } = event as Extract<ServerEvent, { type: 'console.line' }>
        return decideConsole(line, clientRows(context.clients), now)
      },
    }),
    kickClient: sendTo(
      ({ context }: { context: ServerContext }) => context.clients.get((context.console as { clientId: string }).clientId)!.ref,
      { type: 'session.kick' } as const,
    ),
    /** Starts an admitted client's session; its end (or failure) comes back as session.ended. */
    startSession: (_, _params: { clientId: string; session: AnyActorRef }) => notProvided('startSession')(),
    /** Stops the sessions still running (the server stops). */
    stopSessions: (_, _params: { sessions: readonly AnyActorRef[] }) => notProvided('stopSessions')(),
    /** Tells every session the server is shutting down (each ends after its transfer in progress). */
    drainSessions: (_, _params: { sessions: readonly AnyActorRef[] }) => notProvided('drainSessions')(),
    logClient: (_, _params: { what: 'online' | 'offline' | 'failed'; client: OnlineClient; detail?: string }) => notProvided('logClient')(),
    /** A connection over the limits: one error line, then it is closed. */
    refuseConnection: (_, _params: { io: unknown; address: string; port: number; reply: string; reason: string }) => notProvided('refuseConnection')(),
    /** The session is over (ended or failed): its connection is closed and forgotten. */
    releaseConnection: (_, _client: OnlineClient) => notProvided('releaseConnection')(),
    /** Closes the listening socket: no new connection is accepted. */
    stopListening: notProvided('stopListening'),
    log: (_, _params: { line: string }) => notProvided('log')(),
    printConsole: (_, _params: { lines: readonly string[] }) => notProvided('printConsole')(),
    clearConsole: notProvided('clearConsole'),
  },
  guards: {
    isOnlineClient: ({ context, event }) => context.clients.has((event as SessionEnded).clientId),
    tooManyClients: ({ context }) => context.clients.size >= context.limits.maxClients,
    tooManyFromAddress: ({ context, event }) => (context.perAddress.get((event as Connected).address) ?? 0) >= context.limits.maxPerIp,
    consoleSays: ({ context }, action: ConsoleDecision['action']) => context.console?.action === action,
    noClients: ({ context }) => context.clients.size === 0,
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => ({ ...input, clients: new Map(), perAddress: new Map(), console: undefined }),
  initial: 'serving',
  states: {
    serving: {
      description: 'Accepting connections within the limits (one session actor per client) and answering the admin console.',
      invoke: { id: 'acceptConnections', src: 'acceptConnections' },
      initial: 'listening',
      states: {
        listening: { description: 'Waiting for connections and console lines.' },
        answeringConsole: {
          description: 'Acts on the console line just decided, then listens again.',
          always: [
            { guard: { type: 'consoleSays', params: 'stop' }, target: '#server.stopped' },
            { guard: { type: 'consoleSays', params: 'clear' }, target: 'listening', actions: 'clearConsole' },
            {
              guard: { type: 'consoleSays', params: 'kick' },
              target: 'listening',
              actions: ['kickClient', { type: 'printConsole', params: ({ context }) => ({ lines: (context.console as { lines: readonly string[] }).lines }) }],
            },
            {
              target: 'listening',
              actions: { type: 'printConsole', params: ({ context }) => ({ lines: (context.console as { lines?: readonly string[] } | undefined)?.lines ?? [] }) },
            },
          ],
        },
      },
      on: {
        'console.line': { target: '.answeringConsole', actions: 'decideConsole' },
        'session.ended': { guard: 'isOnlineClient', actions: sessionEnded },
        'client.connected': [
          {
            guard: 'tooManyClients',
            actions: {
              type: 'refuseConnection',
              params: ({ context, event }) => ({
                ...event,
                reply: errorReply(`server full (${context.limits.maxClients} clients), try again later`),
                reason: `server full (${context.limits.maxClients} clients)`,
              }),
            },
          },
          {
            guard: 'tooManyFromAddress',
            actions: {
              type: 'refuseConnection',
              params: ({ context, event }) => ({
                ...event,
                reply: errorReply(`too many connections from your address (max ${context.limits.maxPerIp})`),
                reason: `${context.limits.maxPerIp} connections from this address already`,
              }),
            },
          },
          {
            actions: [
              'admitClient',
              {
                type: 'logClient',
                params: ({ context, event }) => ({ what: 'online', client: context.clients.get(event.clientId)! }),
              },
              { type: 'startSession', params: ({ event }) => ({ clientId: event.clientId, session: event.session }) },
            ],
          },
        ],
        'server.shutdown': 'draining',
      },
    },
    draining: {
      description: 'Shutting down: no new connection; idle sessions are closed, transfers in flight finish. Stops when no client is left, after drainTimeout, or on a second shutdown.',
      entry: [
        'stopListening',
        {
          type: 'log',
          params: ({ context }) => ({
            line: `Shutting down: waiting for ${context.clients.size} session(s) to finish (at most ${Math.round(context.limits.drainTimeoutMs / 1000)} s); signal again to stop at once`,
          }),
        },
        { type: 'drainSessions', params: ({ context }) => ({ sessions: [...context.clients.values()].map((c) => c.ref) }) },
      ],
      always: { guard: 'noClients', target: 'stopped' },
      after: {
        drainTimeout: {
          target: 'stopped',
          actions: { type: 'log', params: ({ context }) => ({ line: `Drain timeout: closing ${context.clients.size} session(s)` }) },
        },
      },
      on: {
        'session.ended': { guard: 'isOnlineClient', actions: sessionEnded },
        'server.shutdown': {
          target: 'stopped',
          actions: { type: 'log', params: ({ context }) => ({ line: `Stopping at once: closing ${context.clients.size} session(s)` }) },
        },
        // The console is only told; it cannot stop or kick while draining.
        'console.line': { actions: { type: 'printConsole', params: { lines: ['Shutting down; signal again to stop at once.'] } } },
        'client.connected': {
          actions: {
            type: 'refuseConnection',
            params: ({ event }) => ({ ...event, reply: errorReply('server is shutting down'), reason: 'shutting down' }),
          },
        },
      },
    },
    stopped: {
      description: 'Stopped from the console (no client online), after draining, or by a second signal; every session and the listener are closed.',
      type: 'final',
      entry: { type: 'stopSessions', params: ({ context }) => ({ sessions: [...context.clients.values()].map((c) => c.ref) }) },
    },
  },
})

export type ServerMachine = typeof serverMachine
