import { assign, fromPromise, setup } from 'xstate'
import { asTorError, FileNotFound, PeerClosed, ProtocolViolation, ServerRefused, type TorError } from '../errors.js'
import { Reply, encodeCommand, encodeSize, isErrorReply, parseSize, type Command, type FileEntry } from '../protocol/index.js'
import type { LineResult } from './session-rules.js'

/**
 * The client's side of a session: it mirrors the server session (awaiting a
 * reply, receiving a listing, receiving the size, transferring, exit). One user
 * command at a time; the outcome of the last one is in `context.outcome`.
 * Pure definition: `src/actors/client-session-io.ts` provides the I/O.
 */

export type ClientOutcome =
  | { readonly ok: true; readonly kind: 'listing'; readonly entries: readonly FileEntry[] }
  | { readonly ok: true; readonly kind: 'transferred'; readonly direction: 'download' | 'upload'; readonly name: string; readonly bytes: number; readonly durationMs: number }
  | { readonly ok: true; readonly kind: 'exited' }
  | { readonly ok: true; readonly kind: 'authenticated' }
  | { readonly ok: false; readonly error: TorError }

export interface ClientContext {
  readonly command: Command | undefined
  readonly size: number | undefined
  readonly outcome: ClientOutcome | undefined
}

export type ClientEvent =
  | { readonly type: 'user.command'; readonly command: Command }
  /** The server ended the connection while no command was running (idle timeout, kicked, shutdown), with its last error line. */
  | { readonly type: 'connection.ended'; readonly reason: string | undefined }

export interface TransferInput {
  readonly name: string
  readonly size: number
}

const notProvided = (what: string) => () => {
  throw new Error(`${what} is provided by src/actors; this machine definition has no I/O`)
}

const text = (line: LineResult): string => (line._tag === 'Line' ? line.text : '')

const failure = (error: TorError): ClientOutcome => ({ ok: false, error })

/** The outcome for a reply the command did not expect (`error ...`, unknown command, Not found file, garbage). */
export const refusal = (line: LineResult, command?: Command): ClientOutcome => {
  if (line._tag === 'Invalid') return failure(new ProtocolViolation({ detail: `bad reply from server: ${line.message}` }))
  if (isErrorReply(line.text) || line.text === Reply.unknownCommand) return failure(new ServerRefused({ reply: line.text }))
  if (line.text === Reply.notFound) return failure(new FileNotFound({ name: command && 'name' in command ? command.name : '' }))
  return failure(new ProtocolViolation({ detail: `unexpected reply from server: ${JSON.stringify(line.text)}` }))
}

const errorOutcome = (error: unknown): ClientOutcome => failure(asTorError(error))

export const clientSessionMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
  },
  actors: {
    readLine: fromPromise<LineResult>(notProvided('readLine')),
    readListing: fromPromise<readonly FileEntry[]>(notProvided('readListing')),
    statUpload: fromPromise<number, { name: string }>(notProvided('statUpload')),
    receiveFile: fromPromise<{ bytes: number; durationMs: number }, TransferInput>(notProvided('receiveFile')),
    sendFile: fromPromise<{ bytes: number; durationMs: number }, TransferInput>(notProvided('sendFile')),
  },
  actions: {
    send: (_, _params: { line: string }) => notProvided('send')(),
    closeConnection: notProvided('closeConnection'),
    recordError: assign({ outcome: ({ event }) => errorOutcome((event as { error?: unknown }).error) }),
    recordTransfer: assign(
      ({ context }, params: { direction: 'download' | 'upload'; report: { bytes: number; durationMs: number } }) => ({
        outcome: {
          ok: true,
          kind: 'transferred',
          direction: params.direction,
          name: (context.command as { name: string }).name,
          ...params.report,
        } satisfies ClientOutcome,
      }),
    ),
  },
  guards: {
    replyIs: (_, params: { line: LineResult; expected: string }) => text(params.line) === params.expected,
    isListing: ({ context }) => context.command?.verb === 'show' || context.command?.verb === 'search',
    isDownload: ({ context }) => context.command?.verb === 'download',
    isUpload: ({ context }) => context.command?.verb === 'upload',
    authAccepted: ({ context }, line: LineResult) => context.command?.verb === 'auth' && text(line) === Reply.ok,
    isSize: (_, line: LineResult) => typeof parseSize(text(line)) === 'number',
    hasOutcome: ({ context }) => context.outcome !== undefined,
    commandIsUpload: (_, command: Command) => command.verb === 'upload',
  },
}).createMachine({
  id: 'clientSession',
  context: { command: undefined, size: undefined, outcome: undefined },
  initial: 'ready',
  states: {
    ready: {
      description: 'Connected and idle: waiting for the next command from the user.',
      on: {
        'connection.ended': {
          target: 'closed',
          actions: assign({
            outcome: ({ event }) =>
              failure(new PeerClosed({ said: event.reason })),
          }),
        },
        'user.command': [
          {
            guard: { type: 'commandIsUpload', params: ({ event }) => event.command },
            target: 'preparingUpload',
            actions: assign({ command: ({ event }) => event.command, outcome: undefined, size: undefined }),
          },
          {
            target: 'awaitingReply',
            actions: [
              assign({ command: ({ event }) => event.command, outcome: undefined, size: undefined }),
              { type: 'send', params: ({ event }) => ({ line: encodeCommand(event.command) }) },
            ],
          },
        ],
      },
    },
    preparingUpload: {
      description: 'Checking the local file in Uploads and its size before telling the server.',
      invoke: {
        id: 'statUpload',
        src: 'statUpload',
        input: ({ context }) => ({ name: (context.command as { name: string }).name }),
        onDone: {
          target: 'awaitingReply',
          actions: [
            assign({ size: ({ event }) => event.output }),
            { type: 'send', params: ({ context }) => ({ line: encodeCommand(context.command!) }) },
          ],
        },
        onError: { target: 'ready', actions: 'recordError' },
      },
    },
    awaitingReply: {
      description: "Command sent; waiting for the server's first reply: ok, an error, or exit.",
      invoke: {
        id: 'readReply',
        src: 'readLine',
        onDone: [
          { guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.exit }) }, target: 'exit' },
          {
            guard: 'isListing',
            target: 'receivingListing',
            // Only `ok` starts a listing; anything else is the outcome.
            actions: assign({
              outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)),
            }),
          },
          { guard: 'isDownload', target: 'receivingSize', actions: assign({ outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)) }) },
          {
            guard: 'isUpload',
            target: 'sendingSize',
            actions: assign({ outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)) }),
          },
          {
            guard: { type: 'authAccepted', params: ({ event }) => event.output },
            target: 'ready',
            actions: assign({ outcome: { ok: true, kind: 'authenticated' } }),
          },
          { target: 'ready', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
        ],
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    receivingListing: {
      description: 'Reading listing rows up to end.',
      always: { guard: 'hasOutcome', target: 'ready' },
      invoke: {
        id: 'readListing',
        src: 'readListing',
        onDone: { target: 'ready', actions: assign({ outcome: ({ event }) => ({ ok: true, kind: 'listing', entries: event.output }) }) },
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    receivingSize: {
      description: 'Download accepted: reading found (or Not found file), then the size.',
      always: { guard: 'hasOutcome', target: 'ready' },
      initial: 'awaitingFound',
      states: {
        awaitingFound: {
          description: 'Waiting for found or Not found file.',
          invoke: {
            id: 'readFound',
            src: 'readLine',
            onDone: [
              { guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.found }) }, target: 'awaitingSize' },
              { target: '#clientSession.ready', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
            ],
            onError: { target: '#clientSession.closed', actions: 'recordError' },
          },
        },
        awaitingSize: {
          description: 'Waiting for the size line that delimits the payload.',
          invoke: {
            id: 'readSize',
            src: 'readLine',
            onDone: [
              {
                guard: { type: 'isSize', params: ({ event }) => event.output },
                target: '#clientSession.transferring.downloading',
                actions: assign({ size: ({ event }) => parseSize(text(event.output)) as number }),
              },
              // Without a size the payload cannot be delimited: the connection is unusable.
              { target: '#clientSession.closed', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
            ],
            onError: { target: '#clientSession.closed', actions: 'recordError' },
          },
        },
      },
    },
    sendingSize: {
      description: 'Upload accepted: the size is sent; waiting for ok to send the bytes.',
      always: { guard: 'hasOutcome', target: 'ready' },
      entry: { type: 'send', params: ({ context }) => ({ line: encodeSize(context.size ?? 0) }) },
      invoke: {
        id: 'readSizeAck',
        src: 'readLine',
        onDone: [
          { guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.ok }) }, target: 'transferring.uploading' },
          { target: 'ready', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
        ],
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    transferring: {
      description: 'Payload bytes move between the socket and a file, outside the machine.',
      initial: 'downloading',
      states: {
        downloading: {
          description: 'Writing exactly size bytes to a temporary file in Downloads, renamed when complete.',
          invoke: {
            id: 'receiveFile',
            src: 'receiveFile',
            input: ({ context }) => ({ name: (context.command as { name: string }).name, size: context.size! }),
            onDone: {
              target: '#clientSession.ready',
              actions: { type: 'recordTransfer', params: ({ event }) => ({ direction: 'download' as const, report: event.output }) },
            },
            onError: { target: '#clientSession.closed', actions: 'recordError' },
          },
        },
        uploading: {
          description: 'Sending the file from Uploads, then waiting for the server to store it.',
          initial: 'sendingBytes',
          states: {
            sendingBytes: {
              description: 'Streaming exactly size bytes of the local file.',
              invoke: {
                id: 'sendFile',
                src: 'sendFile',
                input: ({ context }) => ({ name: (context.command as { name: string }).name, size: context.size! }),
                onDone: {
                  target: 'awaitingStored',
                  actions: { type: 'recordTransfer', params: ({ event }) => ({ direction: 'upload' as const, report: event.output }) },
                },
                onError: { target: '#clientSession.closed', actions: 'recordError' },
              },
            },
            awaitingStored: {
              description: 'Waiting for end: the server has stored the whole file.',
              invoke: {
                id: 'readStored',
                src: 'readLine',
                onDone: [
                  { guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.end }) }, target: '#clientSession.ready' },
                  { target: '#clientSession.ready', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
                ],
                onError: { target: '#clientSession.closed', actions: 'recordError' },
              },
            },
          },
        },
      },
    },
    exit: {
      description: 'The server said exit; the connection is closed.',
      type: 'final',
      entry: ['closeConnection', assign({ outcome: { ok: true, kind: 'exited' } })],
    },
    closed: {
      description: 'The connection broke: the server went away or a transfer broke off.',
      type: 'final',
      entry: 'closeConnection',
    },
  },
})

export type ClientSessionMachine = typeof clientSessionMachine
