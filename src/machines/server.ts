import { assign, fromCallback, setup, stopChild, type ActorRefFrom } from 'xstate'
import { decideConsole, type ClientRow } from './console-rules.js'
import { serverSessionMachine, type ServerSessionMachine } from './server-session.js'

/**
 * The server actor: accepts connections, spawns one session actor per client
 * (system id `client-<n>`), keeps the list of online clients and answers the
 * admin console. A session that fails is forgotten like one that ended; the
 * others and the server go on.
 */

export interface ServerInput {
  readonly maxUploadBytes: number
}

export interface OnlineClient {
  readonly id: string
  readonly address: string
  readonly port: number
  readonly connectedAt: number
  readonly ref: ActorRefFrom<ServerSessionMachine>
}

export interface ServerContext extends ServerInput {
  readonly clients: Readonly<Record<string, OnlineClient>>
}

export type ServerEvent =
  | {
      readonly type: 'client.connected'
      readonly address: string
      readonly port: number
      readonly connectedAt: number
      /** Assigned by the acceptor, which keeps the connection under this id for the session's I/O. */
      readonly clientId: string
    }
  | { readonly type: 'console.line'; readonly line: string; readonly now: number }
  | { readonly type: 'server.shutdown' }

const notProvided = (what: string) => () => {
  throw new Error(`${what} is provided by src/actors; this machine definition has no I/O`)
}

const childId = (eventType: string): string => eventType.split('.').slice(3).join('.')

export const clientRows = (clients: ServerContext['clients']): ClientRow[] =>
  Object.values(clients).map((c) => ({
    id: c.id,
    address: c.address,
    port: c.port,
    connectedAt: c.connectedAt,
    state: stateName(c.ref.getSnapshot().value),
  }))

const stateName = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${k}.${stateName(v)}`)
        .join(',')

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    input: {} as ServerInput,
    events: {} as ServerEvent,
  },
  actors: {
    acceptConnections: fromCallback(notProvided('acceptConnections')),
    session: serverSessionMachine,
  },
  actions: {
    spawnSession: assign(({ context, event, spawn }) => {
      if (event.type !== 'client.connected') return {}
      const { clientId: id, address, port, connectedAt } = event
      const ref = spawn('session', { id, systemId: id, input: { clientId: id, maxUploadBytes: context.maxUploadBytes } })
      return { clients: { ...context.clients, [id]: { id, address, port, connectedAt, ref } } }
    }),
    forgetClient: assign(({ context, event }) => {
      const { [childId(event.type)]: _gone, ...clients } = context.clients
      return { clients }
    }),
    stopSession: stopChild(({ event }) => childId(event.type)),
    logClient: (_, _params: { what: 'online' | 'offline' | 'failed'; client: OnlineClient; detail?: string }) =>
      notProvided('logClient')(),
    /** The session is over (ended or failed): its connection is closed and forgotten. */
    releaseConnection: (_, _client: OnlineClient) => notProvided('releaseConnection')(),
    printConsole: (_, _params: { lines: readonly string[] }) => notProvided('printConsole')(),
    clearConsole: notProvided('clearConsole'),
  },
  guards: {
    isClientEvent: ({ context, event }) => childId(event.type) in context.clients,
    consoleSaysStop: ({ context, event }) =>
      event.type === 'console.line' && decideConsole(event.line, clientRows(context.clients), event.now).action === 'stop',
    consoleSaysClear: ({ context, event }) =>
      event.type === 'console.line' && decideConsole(event.line, clientRows(context.clients), event.now).action === 'clear',
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => ({ ...input, clients: {} }),
  initial: 'serving',
  states: {
    serving: {
      description: 'Accepting connections (one session actor per client) and answering the admin console.',
      invoke: { id: 'acceptConnections', src: 'acceptConnections' },
      on: {
        'client.connected': {
          actions: [
            'spawnSession',
            {
              type: 'logClient',
              params: ({ context, event }) => ({
                what: 'online',
                client: context.clients[(event as { clientId: string }).clientId]!,
              }),
            },
          ],
        },
        'xstate.done.actor.*': {
          guard: 'isClientEvent',
          actions: [
            {
              type: 'logClient',
              params: ({ context, event }: { context: ServerContext; event: { type: string } }) => ({
                what: 'offline' as const,
                client: context.clients[childId(event.type)]!,
              }),
            },
            {
              type: 'releaseConnection',
              params: ({ context, event }: { context: ServerContext; event: { type: string } }) => context.clients[childId(event.type)]!,
            },
            'stopSession',
            'forgetClient',
          ],
        },
        'xstate.error.actor.*': {
          guard: 'isClientEvent',
          actions: [
            {
              type: 'logClient',
              params: ({ context, event }: { context: ServerContext; event: { type: string } }) => ({
                what: 'failed' as const,
                client: context.clients[childId(event.type)]!,
                detail: String((event as { error?: unknown }).error),
              }),
            },
            {
              type: 'releaseConnection',
              params: ({ context, event }: { context: ServerContext; event: { type: string } }) => context.clients[childId(event.type)]!,
            },
            'stopSession',
            'forgetClient',
          ],
        },
        'console.line': [
          { guard: 'consoleSaysStop', target: 'stopped' },
          { guard: 'consoleSaysClear', actions: 'clearConsole' },
          {
            actions: {
              type: 'printConsole',
              params: ({ context, event }) => {
                const decision = decideConsole(event.line, clientRows(context.clients), event.now)
                return { lines: decision.action === 'print' ? decision.lines : [] }
              },
            },
          },
        ],
        'server.shutdown': 'stopped',
      },
    },
    stopped: {
      description: 'Stopped from the console (no client online) or by a signal; every session and the listener are closed.',
      type: 'final',
    },
  },
})

export type ServerMachine = typeof serverMachine
