import { assign, fromPromise, setup } from 'xstate'
import { Reply, encodeSize, errorReply } from '../protocol/index.js'
import { decideCommand, decideUploadSize, type LineResult } from './session-rules.js'

/**
 * One connected client, as the server sees it. Pure definition: the actors and
 * actions below are placeholders, and `src/actors/server-session-io.ts` provides
 * the real ones (socket, folder) with `machine.provide(...)`. So replay and
 * transition tests run this exact machine without any I/O.
 */

export interface SessionInput {
  readonly clientId: string
  readonly maxUploadBytes: number
}

export interface SessionRef {
  readonly clientId: string
}

export interface Transfer {
  readonly direction: 'download' | 'upload'
  readonly name: string
  readonly size: number
}

export interface SessionContext extends SessionInput {
  readonly search: string | undefined
  readonly name: string | undefined
  readonly transfer: Transfer | undefined
}

export type DownloadLookup = { readonly found: true; readonly size: number } | { readonly found: false }

export interface TransferReport {
  readonly bytes: number
  readonly durationMs: number
}

export type SessionLog =
  | { readonly kind: 'refused'; readonly command: string; readonly reason: string }
  | { readonly kind: 'transferred'; readonly transfer: Transfer; readonly report: TransferReport }
  | { readonly kind: 'transferFailed'; readonly transfer: Transfer; readonly reason: string }

export type SessionEvent = { readonly type: 'session.close' }

const notProvided = (what: string) => () => {
  throw new Error(`${what} is provided by src/actors; this machine definition has no I/O`)
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const lineText = (line: LineResult): string => (line._tag === 'Line' ? line.text : `<${line.code}>`)

export const serverSessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  // Every actor's input names the session (clientId): the I/O provided once per server finds its connection by it.
  actors: {
    readLine: fromPromise<LineResult, SessionRef>(notProvided('readLine')),
    streamListing: fromPromise<{ count: number }, SessionRef & { search: string | undefined }>(notProvided('streamListing')),
    openDownload: fromPromise<DownloadLookup, SessionRef & { name: string }>(notProvided('openDownload')),
    sendFile: fromPromise<TransferReport, SessionRef & Transfer>(notProvided('sendFile')),
    receiveUpload: fromPromise<TransferReport, SessionRef & Transfer>(notProvided('receiveUpload')),
  },
  actions: {
    reply: (_, _params: { lines: readonly string[] }) => notProvided('reply')(),
    log: (_, _params: SessionLog) => notProvided('log')(),
    closeConnection: notProvided('closeConnection'),
  },
  guards: {
    wantsListing: (_, line: LineResult) => decideCommand(line).next === 'list',
    wantsDownload: (_, line: LineResult) => decideCommand(line).next === 'download',
    wantsUpload: (_, line: LineResult) => decideCommand(line).next === 'upload',
    wantsExit: (_, line: LineResult) => decideCommand(line).next === 'exit',
    sizeAccepted: ({ context }, line: LineResult) => decideUploadSize(line, context.maxUploadBytes).accepted,
    fileFound: (_, lookup: DownloadLookup) => lookup.found,
    peerClosed: (_, error: unknown) => (error as { _tag?: string } | undefined)?._tag === 'PeerClosed',
  },
}).createMachine({
  id: 'serverSession',
  context: ({ input }) => ({ ...input, search: undefined, name: undefined, transfer: undefined }),
  initial: 'awaitingCommand',
  on: { 'session.close': '.closed' },
  states: {
    awaitingCommand: {
      description: 'Waiting for the next command line (pipelined lines wait their turn). Refused commands are answered here and the session stays.',
      entry: assign({ search: undefined, name: undefined, transfer: undefined }),
      invoke: {
        id: 'readCommand',
        src: 'readLine',
        input: ({ context }) => ({ clientId: context.clientId }),
        onDone: [
          {
            guard: { type: 'wantsListing', params: ({ event }) => event.output },
            target: 'streamingList',
            actions: assign({ search: ({ event }) => (decideCommand(event.output) as { search?: string }).search }),
          },
          {
            guard: { type: 'wantsDownload', params: ({ event }) => event.output },
            target: 'sendingSize',
            actions: assign({ name: ({ event }) => (decideCommand(event.output) as { name: string }).name }),
          },
          {
            guard: { type: 'wantsUpload', params: ({ event }) => event.output },
            target: 'receivingSize',
            actions: [
              assign({ name: ({ event }) => (decideCommand(event.output) as { name: string }).name }),
              { type: 'reply', params: { lines: [Reply.ok] } },
            ],
          },
          { guard: { type: 'wantsExit', params: ({ event }) => event.output }, target: 'exit' },
          {
            target: 'awaitingCommand',
            reenter: true,
            actions: [
              {
                type: 'reply',
                params: ({ event }) => {
                  const decision = decideCommand(event.output)
                  return { lines: [decision.next === 'refuse' ? decision.reply : Reply.unknownCommand] }
                },
              },
              {
                type: 'log',
                params: ({ event }) => {
                  const decision = decideCommand(event.output)
                  return {
                    kind: 'refused',
                    command: lineText(event.output),
                    reason: decision.next === 'refuse' ? decision.reason : 'refused',
                  }
                },
              },
            ],
          },
        ],
        onError: 'closed',
      },
    },
    streamingList: {
      description: 'Sending ok, one row per file (all, or the search matches) and end.',
      invoke: {
        id: 'listFiles',
        src: 'streamListing',
        input: ({ context }) => ({ clientId: context.clientId, search: context.search }),
        onDone: 'awaitingCommand',
        onError: {
          target: 'awaitingCommand',
          actions: { type: 'reply', params: ({ event }) => ({ lines: [errorReply(reasonOf(event.error))] }) },
        },
      },
    },
    sendingSize: {
      description: 'Opening the file to download, then answering ok, found and its size, or ok and Not found file.',
      invoke: {
        id: 'openDownload',
        src: 'openDownload',
        input: ({ context }) => ({ clientId: context.clientId, name: context.name! }),
        onDone: [
          {
            guard: { type: 'fileFound', params: ({ event }) => event.output },
            target: 'transferring.sendingFile',
            actions: [
              assign({
                transfer: ({ context, event }) => ({
                  direction: 'download' as const,
                  name: context.name!,
                  size: (event.output as { size: number }).size,
                }),
              }),
              {
                type: 'reply',
                params: ({ event }) => ({
                  lines: [Reply.ok, Reply.found, encodeSize((event.output as { size: number }).size)],
                }),
              },
            ],
          },
          {
            target: 'awaitingCommand',
            actions: [
              { type: 'reply', params: { lines: [Reply.ok, Reply.notFound] } },
              {
                type: 'log',
                params: ({ context }) => ({ kind: 'refused', command: `download ${context.name}`, reason: 'not found' }),
              },
            ],
          },
        ],
        onError: {
          target: 'awaitingCommand',
          actions: { type: 'reply', params: ({ event }) => ({ lines: [errorReply(reasonOf(event.error))] }) },
        },
      },
    },
    receivingSize: {
      description: 'Upload accepted with ok; waiting for the size line. A bad or too large size gets an error and the session goes on.',
      invoke: {
        id: 'readUploadSize',
        src: 'readLine',
        input: ({ context }) => ({ clientId: context.clientId }),
        onDone: [
          {
            guard: { type: 'sizeAccepted', params: ({ event }) => event.output },
            target: 'transferring.receivingFile',
            actions: [
              assign({
                transfer: ({ context, event }) => ({
                  direction: 'upload' as const,
                  name: context.name!,
                  size: (decideUploadSize(event.output, context.maxUploadBytes) as { size: number }).size,
                }),
              }),
              { type: 'reply', params: { lines: [Reply.ok] } },
            ],
          },
          {
            target: 'awaitingCommand',
            actions: [
              {
                type: 'reply',
                params: ({ context, event }) => {
                  const decision = decideUploadSize(event.output, context.maxUploadBytes)
                  return { lines: [decision.accepted ? Reply.ok : decision.reply] }
                },
              },
              {
                type: 'log',
                params: ({ context, event }) => {
                  const decision = decideUploadSize(event.output, context.maxUploadBytes)
                  return {
                    kind: 'refused',
                    command: `upload ${context.name} (size ${lineText(event.output)})`,
                    reason: decision.accepted ? 'refused' : decision.reason,
                  }
                },
              },
            ],
          },
        ],
        onError: 'closed',
      },
    },
    transferring: {
      description: 'Payload bytes move as a Node stream; the machine only sees the transfer end.',
      initial: 'sendingFile',
      states: {
        sendingFile: {
          description: 'Streaming exactly the announced bytes of the opened file to the client.',
          invoke: {
            id: 'sendFile',
            src: 'sendFile',
            input: ({ context }) => ({ clientId: context.clientId, ...context.transfer! }),
            onDone: {
              target: '#serverSession.awaitingCommand',
              actions: {
                type: 'log',
                params: ({ context, event }) => ({ kind: 'transferred', transfer: context.transfer!, report: event.output }),
              },
            },
            // Part of the payload may already be on the wire: the byte stream cannot be resynchronised.
            onError: {
              target: '#serverSession.closed',
              actions: {
                type: 'log',
                params: ({ context, event }) => ({
                  kind: 'transferFailed',
                  transfer: context.transfer!,
                  reason: reasonOf(event.error),
                }),
              },
            },
          },
        },
        receivingFile: {
          description: 'Writing exactly size bytes to a hidden temporary file, renamed into place before end.',
          invoke: {
            id: 'receiveUpload',
            src: 'receiveUpload',
            input: ({ context }) => ({ clientId: context.clientId, ...context.transfer! }),
            onDone: {
              target: '#serverSession.awaitingCommand',
              actions: [
                { type: 'reply', params: { lines: [Reply.end] } },
                {
                  type: 'log',
                  params: ({ context, event }) => ({ kind: 'transferred', transfer: context.transfer!, report: event.output }),
                },
              ],
            },
            onError: [
              {
                // The client went away: nothing to answer, the temporary file is already gone.
                guard: { type: 'peerClosed', params: ({ event }: { event: { error: unknown } }) => event.error },
                target: '#serverSession.closed',
                actions: {
                  type: 'log',
                  params: ({ context, event }) => ({
                    kind: 'transferFailed',
                    transfer: context.transfer!,
                    reason: reasonOf(event.error),
                  }),
                },
              },
              {
                // The whole payload was read (and dropped); the session goes on.
                target: '#serverSession.awaitingCommand',
                actions: [
                  { type: 'reply', params: ({ event }) => ({ lines: [errorReply(reasonOf(event.error))] }) },
                  {
                    type: 'log',
                    params: ({ context, event }) => ({
                      kind: 'transferFailed',
                      transfer: context.transfer!,
                      reason: reasonOf(event.error),
                    }),
                  },
                ],
              },
            ],
          },
        },
      },
    },
    exit: {
      description: 'Said exit; the connection is closed.',
      type: 'final',
      entry: [{ type: 'reply', params: { lines: [Reply.exit] } }, 'closeConnection'],
    },
    closed: {
      description: 'The client went away, a transfer broke off, or the server shut down.',
      type: 'final',
      entry: 'closeConnection',
    },
  },
})

export type ServerSessionMachine = typeof serverSessionMachine
