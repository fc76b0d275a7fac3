import { assign, fromCallback, setup, stopChild, type ActorRefFrom, type AnyActorLogic } from 'xstate'
import { decideConsole, type ClientRow } from './console-rules.js'
import type { ServerSessionMachine } from './server-session.js'

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
  readonly drop: () => void
}

export interface ServerContext extends ServerInput {
  readonly clients: Readonly<Record<string, OnlineClient>>
  readonly nextClientNumber: number
}

export type ServerEvent =
  | {
      readonly type: 'client.connected'
      readonly address: string
      readonly port: number
      readonly connectedAt: number
      /** The session machine with this connection's I/O provided. */
      readonly session: AnyActorLogic
      /** Closes the connection at once (used when its session fails). */
      readonly drop: () => void
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
  },
  actions: {
    spawnSession: assign(({ context, event, spawn }) => {
      if (event.type !== 'client.connected') return {}
      const id = `client-${context.nextClientNumber}`
      // The logic arrives with the event (its I/O bound to this connection), so it is not a named actor.
      const spawnLogic = spawn as unknown as (logic: AnyActorLogic, options: object) => OnlineClient['ref']
      const ref = spawnLogic(event.session, {
        id,
        systemId: id,
        input: { clientId: id, maxUploadBytes: context.maxUploadBytes },
      })
      const { address, port, connectedAt, drop } = event
      const client: OnlineClient = { id, address, port, connectedAt, ref, drop }
      return { clients: { ...context.clients, [id]: client }, nextClientNumber: context.nextClientNumber + 1 }
    }),
    forgetClient: assign(({ context, event }) => {
      const { [childId(event.type)]: _gone, ...clients } = context.clients
      return { clients }
    }),
    stopSession: stopChild(({ event }) => childId(event.type)),
    logClient: (_, _params: { what: 'online' | 'offline' | 'failed'; client: OnlineClient; detail?: string }) =>
      notProvided('logClient')(),
    dropConnection: (_, client: OnlineClient) => client.drop(),
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
  context: ({ input }) => ({ ...input, clients: {}, nextClientNumber: 1 }),
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
              params: ({ context }) => ({
                what: 'online',
                client: context.clients[`client-${context.nextClientNumber - 1}`]!,
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
              type: 'dropConnection',
              params: ({ context, event }: { context: ServerContext; event: { type: string } }) =>
                context.clients[childId(event.type)]!,
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
