import { assign, fromPromise, setup } from 'xstate'
import { asTorError, FileNotFound, PeerClosed, ProtocolViolation, ServerRefused, type TorError } from '../errors.js'
import {
  Reply,
  encodeCommand,
  encodeSize,
  isErrorReply,
  parseSize,
  parseVerifiedSize,
  type Command,
  type FileEntry,
  type VerifiedSize,
} from '../protocol/index.js'
import type { LineResult } from './session-rules.js'

/**
 * The client's side of a session: it mirrors the server session (awaiting a
 * reply, receiving a listing, receiving the size, transferring, exit). One user
 * command at a time; the outcome of the last one is in `context.outcome`.
 * Pure definition: `src/actors/client-session-io.ts` provides the I/O.
 */

/** A file moved. `verified`: its SHA-256, where it started, and whether a kept part was dropped because the file changed. */
export interface Transferred {
  readonly ok: true
  readonly kind: 'transferred'
  readonly direction: 'download' | 'upload'
  readonly name: string
  readonly bytes: number
  readonly durationMs: number
  readonly verified?: { readonly sha256: string; readonly from: number; readonly restarted: boolean }
}

export type ClientOutcome =
  | { readonly ok: true; readonly kind: 'listing'; readonly entries: readonly FileEntry[] }
  | Transferred
  /** A gets: each file's own outcome, in the order asked. */
  | { readonly ok: true; readonly kind: 'receivedMany'; readonly files: readonly ManyFileOutcome[] }
  /** A stores: each file's own outcome; `handled` names were taken (the one after them is too large for a stores). */
  | { readonly ok: true; readonly kind: 'sentMany'; readonly files: readonly ManyFileOutcome[]; readonly handled: number }
  | { readonly ok: true; readonly kind: 'exited' }
  /** The protocol extensions the server lists (none from a server that speaks the seed protocol only). */
  | { readonly ok: true; readonly kind: 'features'; readonly features: readonly string[] }
  | { readonly ok: true; readonly kind: 'authenticated' }
  | { readonly ok: false; readonly error: TorError }

/** One file of a gets or a stores as it ended: moved and verified, or why not (not found, refused, checksum mismatch). */
export type ManyFileOutcome = Transferred | { readonly ok: false; readonly name: string; readonly error: TorError }

export interface ClientContext {
  readonly command: Command | undefined
  readonly size: number | undefined
  readonly outcome: ClientOutcome | undefined
  /** The part of this download kept from an earlier try: its length and the SHA-256 of the file it is part of. */
  readonly partial: { readonly offset: number; readonly expected: string } | undefined
  /** The download was asked for with get (verified, resumable). */
  readonly sentGet: boolean
  /** The server answered get as an unknown command: this connection downloads with download. */
  readonly getUnsupported: boolean
  /** The size line of a get: size, SHA-256, first byte sent. */
  readonly verified: VerifiedSize | undefined
  /** The upload was asked for with put (verified). */
  readonly sentPut: boolean
  /** The key of the local file being uploaded (device, inode, size, time): the server keeps a cut upload under it. */
  readonly uploadKey: string | undefined
  /** Where the upload continues: bytes of it the server already holds. */
  readonly uploadFrom: number
  /** The server answered put as an unknown command: this connection uploads with upload. */
  readonly putUnsupported: boolean
  /** The names of Uploads a stores sends. */
  readonly batch: readonly string[]
}

export type ClientEvent =
  | {
      readonly type: 'user.command'
      readonly command: Command
      /**
       * A download whose get line the runtime already sent, ahead of the replies it is
       * still reading (a pipelined batch), with the kept part it asked to resume.
       */
      readonly sentAhead?: SentAhead
      /** A stores: the names of Uploads it sends. */
      readonly batch?: readonly string[]
    }
  /** The server ended the connection while no command was running (idle timeout, kicked, shutdown), with its last error line. */
  | { readonly type: 'connection.ended'; readonly reason: string | undefined }
  /** The user has what they came for: say exit and close, without waiting for the server's reply (a one-shot command). */
  | { readonly type: 'user.hangUp' }

/**
 * A command the runtime already wrote, ahead of replies it is still reading (a pipelined batch):
 * a get, with the kept part it asked to resume; or a store (a small file's line and bytes), with
 * the size and SHA-256 it carried.
 */
export type SentAhead =
  | { readonly partial: { readonly offset: number; readonly expected: string } | undefined; readonly stored?: undefined }
  | { readonly stored: { readonly size: number; readonly sha256: string }; readonly partial?: undefined }

export interface TransferInput {
  readonly name: string
  readonly size: number
  /** A verified download: the bytes from `verified.from` on are checked against `verified.sha256`. */
  readonly verified?: VerifiedSize
  /** A part of this name was kept from an earlier try (resumed, or to be replaced when the file changed). */
  readonly keptPart?: boolean
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

/** The size line of a get, when the download was asked with get and the line is one. */
const verifiedSizeOf = (context: ClientContext, line: LineResult): VerifiedSize | undefined => {
  const v = context.sentGet ? parseVerifiedSize(text(line)) : undefined
  return v instanceof ProtocolViolation ? undefined : v
}

const errorOutcome = (error: unknown): ClientOutcome => failure(asTorError(error))

/**
 * What the machine does to the outside world: its actors, and the two actions that touch the
 * connection. Stubs that say so when called; `src/actors/client-session-io.ts` gives the real ones
 * for each connection (`defineClientSession`).
 */
const noIo = {
  actors: {
    readLine: fromPromise<LineResult>(notProvided('readLine')),
    readListing: fromPromise<readonly FileEntry[]>(notProvided('readListing')),
    readFeatures: fromPromise<readonly string[]>(notProvided('readFeatures')),
    statUpload: fromPromise<{ size: number; key: string }, { name: string }>(notProvided('statUpload')),
    findPartial: fromPromise<{ offset: number; expected: string } | undefined, { name: string }>(notProvided('findPartial')),
    resumePartial: fromPromise<void, { name: string; verified: VerifiedSize }>(notProvided('resumePartial')),
    receiveFile: fromPromise<{ bytes: number; durationMs: number }, TransferInput>(notProvided('receiveFile')),
    /** The answers to a gets after its ok, one file at a time, each file's outcome reported as it ends. */
    receiveMany: fromPromise<readonly ManyFileOutcome[], { names: readonly string[] }>(notProvided('receiveMany')),
    /** A stores' entries and the terminating empty line, each file's answer read as the next ones are sent, reported as it ends. */
    sendMany: fromPromise<{ files: readonly ManyFileOutcome[]; handled: number }, { names: readonly string[] }>(notProvided('sendMany')),
    sendFile: fromPromise<{ bytes: number; durationMs: number; sha256?: string }, TransferInput & { hash: boolean; from: number }>(notProvided('sendFile')),
  },
  send: (_: unknown, _params: { line: string }): void => notProvided('send')(),
  closeConnection: (): void => notProvided('closeConnection')(),
}

export type ClientSessionIo = typeof noIo

/**
 * The client session machine doing its I/O through `io`. Built once per connection with the real
 * I/O, not as a copy of a stub machine (`provide` builds the whole tree of states again: about
 * 2.5 ms of a one-shot command's start).
 */
export const defineClientSession = (io: ClientSessionIo) => setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
  },
  actors: io.actors,
  actions: {
    send: io.send,
    closeConnection: io.closeConnection,
    recordError: assign({ outcome: ({ event }) => errorOutcome((event as { error?: unknown }).error) }),
    recordTransfer: assign(
      ({ context }, params: { direction: 'download' | 'upload'; report: { bytes: number; durationMs: number; sha256?: string } }) => ({
        outcome: {
          ok: true,
          kind: 'transferred',
          direction: params.direction,
          name: (context.command as { name: string }).name,
          bytes: params.report.bytes,
          durationMs: params.report.durationMs,
          ...(params.direction === 'download' && context.verified
            ? { verified: { sha256: context.verified.sha256, from: context.verified.from, restarted: context.partial !== undefined && context.verified.from === 0 } }
            : {}),
          ...(params.direction === 'upload' && params.report.sha256 ? { verified: { sha256: params.report.sha256, from: context.uploadFrom, restarted: false } } : {}),
        } satisfies ClientOutcome,
      }),
    ),
  },
  guards: {
    replyIs: (_, params: { line: LineResult; expected: string }) => text(params.line) === params.expected,
    isListing: ({ context }) => context.command?.verb === 'show' || context.command?.verb === 'search' || context.command?.verb === 'hashes',
    isFeatures: ({ context }) => context.command?.verb === 'features',
    isDownload: ({ context }) => context.command?.verb === 'download',
    isMany: ({ context }) => context.command?.verb === 'gets',
    isUpload: ({ context }) => context.command?.verb === 'upload',
    authAccepted: ({ context }, line: LineResult) => context.command?.verb === 'auth' && text(line) === Reply.ok,
    isSize: (_, line: LineResult) => typeof parseSize(text(line)) === 'number',
    hasOutcome: ({ context }) => context.outcome !== undefined,
    commandIsUpload: (_, command: Command) => command.verb === 'upload',
    commandIsDownload: (_, command: Command) => command.verb === 'download',
    commandIsStores: (_, command: Command) => command.verb === 'stores',
    getUnsupported: ({ context }) => context.getUnsupported,
    sentAhead: (_, event: { command: Command; sentAhead?: SentAhead }) => event.command.verb === 'download' && event.sentAhead !== undefined,
    storedAhead: (_, event: { command: Command; sentAhead?: SentAhead }) => event.command.verb === 'upload' && event.sentAhead?.stored !== undefined,
    putUnsupported: ({ context }) => context.putUnsupported,

    hashed: (_, report: { sha256?: string }) => report.sha256 !== undefined,
    okWithOffset: ({ context }, line: LineResult) => {
      const match = context.sentPut ? /^ok ([0-9]{1,16})$/.exec(text(line)) : null
      return match !== null && Number(match[1]) <= (context.size ?? 0)
    },
    newVerbRefused: ({ context }, line: LineResult) => (context.sentGet || context.sentPut) && text(line) === Reply.unknownCommand,
    verifiedResume: ({ context }, line: LineResult) => (verifiedSizeOf(context, line)?.from ?? 0) > 0,
    verifiedFromStart: ({ context }, line: LineResult) => verifiedSizeOf(context, line)?.from === 0,
    plainSize: ({ context }, line: LineResult) => !context.sentGet && typeof parseSize(text(line)) === 'number',
    connectionUsable: (_, error: unknown) => (error as { _tag?: string } | undefined)?._tag === 'ChecksumMismatch',
  },
}).createMachine({
  id: 'clientSession',
  context: {
    command: undefined,
    size: undefined,
    outcome: undefined,
    partial: undefined,
    sentGet: false,
    getUnsupported: false,
    verified: undefined,
    sentPut: false,
    putUnsupported: false,
    uploadKey: undefined,
    uploadFrom: 0,
    batch: [],
  },
  initial: 'ready',
  states: {
    ready: {
      description: 'Connected and idle: waiting for the next command from the user.',
      on: {
        'user.hangUp': 'hungUp',
        'connection.ended': {
          target: 'closed',
          actions: assign({
            outcome: ({ event }) =>
              failure(new PeerClosed({ said: event.reason })),
          }),
        },
        'user.command': [
          {
            guard: { type: 'sentAhead', params: ({ event }) => event },
            target: 'awaitingReply',
            actions: assign({
              command: ({ event }) => event.command,
              outcome: undefined,
              size: undefined,
              verified: undefined,
              partial: ({ event }) => event.sentAhead?.partial,
              sentGet: true,
              sentPut: false,
            }),
          },
          {
            // A small file's store (line and bytes) is on its way already: only the server's answer is left.
            guard: { type: 'storedAhead', params: ({ event }) => event },
            target: 'transferring.uploading.awaitingStored',
            actions: [
              assign({
                command: ({ event }) => event.command,
                outcome: undefined,
                size: ({ event }) => event.sentAhead!.stored!.size,
                verified: undefined,
                partial: undefined,
                sentGet: false,
                sentPut: false,
                uploadKey: undefined,
                uploadFrom: 0,
              }),
              {
                type: 'recordTransfer',
                params: ({ event }) => ({ direction: 'upload' as const, report: { bytes: event.sentAhead!.stored!.size, durationMs: 0, sha256: event.sentAhead!.stored!.sha256 } }),
              },
            ],
          },
          {
            // A stores has no first reply: its entries follow the line at once.
            guard: { type: 'commandIsStores', params: ({ event }) => event.command },
            target: 'sendingMany',
            actions: [
              assign({ command: ({ event }) => event.command, outcome: undefined, batch: ({ event }) => event.batch ?? [] }),
              { type: 'send', params: ({ event }) => ({ line: encodeCommand(event.command) }) },
            ],
          },
          {
            guard: { type: 'commandIsUpload', params: ({ event }) => event.command },
            target: 'preparingUpload',
            actions: assign({
              command: ({ event }) => event.command,
              outcome: undefined,
              size: undefined,
              verified: undefined,
              partial: undefined,
              sentGet: false,
              sentPut: false,
              uploadKey: undefined,
              uploadFrom: 0,
            }),
          },
          {
            guard: { type: 'commandIsDownload', params: ({ event }) => event.command },
            target: 'checkingPartial',
            actions: assign({ command: ({ event }) => event.command, outcome: undefined, size: undefined, partial: undefined, sentGet: false, verified: undefined }),
          },
          {
            target: 'awaitingReply',
            actions: [
              assign({ command: ({ event }) => event.command, outcome: undefined, size: undefined, verified: undefined, partial: undefined, sentGet: false }),
              { type: 'send', params: ({ event }) => ({ line: encodeCommand(event.command) }) },
            ],
          },
        ],
      },
    },
    preparingUpload: {
      description: 'Checking the local file in Uploads and its size before telling the server: put (verified), or upload on a server that knows no put.',
      invoke: {
        id: 'statUpload',
        src: 'statUpload',
        input: ({ context }) => ({ name: (context.command as { name: string }).name }),
        onDone: [
          {
            guard: 'putUnsupported',
            target: 'awaitingReply',
            actions: [assign({ size: ({ event }) => event.output.size }), { type: 'send', params: ({ context }) => ({ line: encodeCommand(context.command!) }) }],
          },
          {
            target: 'awaitingReply',
            actions: [
              assign({ size: ({ event }) => event.output.size, uploadKey: ({ event }) => event.output.key, sentPut: true }),
              { type: 'send', params: ({ context }) => ({ line: encodeCommand({ verb: 'put', name: (context.command as { name: string }).name }) }) },
            ],
          },
        ],
        onError: { target: 'ready', actions: 'recordError' },
      },
    },
    checkingPartial: {
      description: 'A download: looking in Downloads for a part kept from an earlier try, then asking with get (resume from its end if the file is the same), or with download on a server that knows no get.',
      invoke: {
        id: 'findPartial',
        src: 'findPartial',
        input: ({ context }) => ({ name: (context.command as { name: string }).name }),
        onDone: [
          {
            guard: 'getUnsupported',
            target: 'awaitingReply',
            actions: { type: 'send', params: ({ context }) => ({ line: encodeCommand(context.command!) }) },
          },
          {
            target: 'awaitingReply',
            actions: [
              assign({ partial: ({ event }) => event.output, sentGet: true }),
              {
                type: 'send',
                params: ({ context }) => ({
                  line: encodeCommand({ verb: 'get', offset: context.partial?.offset ?? 0, expected: context.partial?.expected, name: (context.command as { name: string }).name }),
                }),
              },
            ],
          },
        ],
        onError: { target: 'ready', actions: 'recordError' },
      },
    },
    awaitingReply: {
      description: "Command sent; waiting for the server's first reply: ok, an error, or exit. A server that does not know get is asked again with download.",
      invoke: {
        id: 'readReply',
        src: 'readLine',
        onDone: [
          { guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.exit }) }, target: 'exit' },
          {
            // get or put to a server that knows neither: remembered for the connection, asked again the seed way.
            guard: { type: 'newVerbRefused', params: ({ event }) => event.output },
            target: 'awaitingReply',
            reenter: true,
            actions: [
              assign(({ context }) => ({
                getUnsupported: context.getUnsupported || context.sentGet,
                putUnsupported: context.putUnsupported || context.sentPut,
                sentGet: false,
                sentPut: false,
              })),
              { type: 'send', params: ({ context }) => ({ line: encodeCommand(context.command!) }) },
            ],
          },
          {
            guard: 'isFeatures',
            target: 'receivingFeatures',
            actions: assign({
              outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)),
            }),
          },
          {
            guard: 'isListing',
            target: 'receivingListing',
            // Only `ok` starts a listing; anything else is the outcome.
            actions: assign({
              outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)),
            }),
          },
          { guard: 'isMany', target: 'receivingMany', actions: assign({ outcome: ({ context, event }) => (text(event.output) === Reply.ok ? undefined : refusal(event.output, context.command)) }) },
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
    receivingFeatures: {
      description: 'Reading the names of the protocol extensions the server speaks, up to end.',
      always: { guard: 'hasOutcome', target: 'ready' },
      invoke: {
        id: 'readFeatures',
        src: 'readFeatures',
        onDone: { target: 'ready', actions: assign({ outcome: ({ event }) => ({ ok: true, kind: 'features', features: event.output }) }) },
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    receivingMany: {
      description:
        "A gets accepted: for each name in turn, found, the size line and the bytes (verified, then renamed into Downloads), or that file's refusal; read outside the machine, which gets each file's outcome at the end.",
      always: { guard: 'hasOutcome', target: 'ready' },
      invoke: {
        id: 'receiveMany',
        src: 'receiveMany',
        input: ({ context }) => ({ names: (context.command as Extract<Command, { verb: 'gets' }>).names }),
        onDone: { target: 'ready', actions: assign({ outcome: ({ event }) => ({ ok: true, kind: 'receivedMany', files: event.output }) }) },
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    sendingMany: {
      description:
        "A stores: each file of Uploads up to 4 MiB read and sent as an entry (size, SHA-256, name, bytes), its answer (end or error) read while the next ones are sent, then the empty line; stops before a larger file, which goes with put.",
      invoke: {
        id: 'sendMany',
        src: 'sendMany',
        input: ({ context }) => ({ names: context.batch }),
        onDone: { target: 'ready', actions: assign({ outcome: ({ event }) => ({ ok: true, kind: 'sentMany', ...event.output }), batch: [] }) },
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
          description: 'Waiting for the size line that delimits the payload (after get: size, SHA-256 and the first byte sent).',
          invoke: {
            id: 'readSize',
            src: 'readLine',
            onDone: [
              {
                guard: { type: 'verifiedResume', params: ({ event }) => event.output },
                target: '#clientSession.transferring.resuming',
                actions: assign(({ event }) => {
                  const verified = parseVerifiedSize(text(event.output)) as VerifiedSize
                  return { verified, size: verified.size }
                }),
              },
              {
                guard: { type: 'verifiedFromStart', params: ({ event }) => event.output },
                target: '#clientSession.transferring.downloading',
                actions: assign(({ event }) => {
                  const verified = parseVerifiedSize(text(event.output)) as VerifiedSize
                  return { verified, size: verified.size }
                }),
              },
              {
                guard: { type: 'plainSize', params: ({ event }) => event.output },
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
      description:
        'Upload accepted: the size is sent (after put, with the key of the local file); waiting for ok, or ok and where to continue an upload the server kept from an earlier try.',
      always: { guard: 'hasOutcome', target: 'ready' },
      entry: {
        type: 'send',
        params: ({ context }) => ({ line: context.sentPut && context.uploadKey ? `${encodeSize(context.size ?? 0)} ${context.uploadKey}` : encodeSize(context.size ?? 0) }),
      },
      invoke: {
        id: 'readSizeAck',
        src: 'readLine',
        onDone: [
          {
            guard: { type: 'replyIs', params: ({ event }) => ({ line: event.output, expected: Reply.ok }) },
            target: 'transferring.uploading',
            actions: assign({ uploadFrom: 0 }),
          },
          {
            guard: { type: 'okWithOffset', params: ({ event }) => event.output },
            target: 'transferring.uploading',
            actions: assign({ uploadFrom: ({ event }) => Number(text(event.output).slice(Reply.ok.length + 1)) }),
          },
          { target: 'ready', actions: assign({ outcome: ({ context, event }) => refusal(event.output, context.command) }) },
        ],
        onError: { target: 'closed', actions: 'recordError' },
      },
    },
    transferring: {
      description: 'Payload bytes move between the socket and a file, outside the machine.',
      initial: 'downloading',
      states: {
        resuming: {
          description: 'The server resumes at the end of the kept part: hashing that part, so the whole file can be checked at the end.',
          invoke: {
            id: 'resumePartial',
            src: 'resumePartial',
            input: ({ context }) => ({ name: (context.command as { name: string }).name, verified: context.verified! }),
            onDone: { target: 'downloading' },
            onError: { target: '#clientSession.closed', actions: 'recordError' },
          },
        },
        downloading: {
          description:
            'Writing the bytes to a hidden file in Downloads, renamed when complete (after get: only if the whole file hashes to the SHA-256 announced; a cut leaves the part to resume).',
          invoke: {
            id: 'receiveFile',
            src: 'receiveFile',
            input: ({ context }) => ({
              name: (context.command as { name: string }).name,
              size: context.size!,
              verified: context.verified,
              keptPart: context.partial !== undefined,
            }),
            onDone: {
              target: '#clientSession.ready',
              actions: { type: 'recordTransfer', params: ({ event }) => ({ direction: 'download' as const, report: event.output }) },
            },
            onError: [
              // Every byte arrived, and they were wrong: the connection itself is fine.
              { guard: { type: 'connectionUsable', params: ({ event }: { event: { error: unknown } }) => event.error }, target: '#clientSession.ready', actions: 'recordError' },
              { target: '#clientSession.closed', actions: 'recordError' },
            ],
          },
        },
        uploading: {
          description: 'Sending the file from Uploads, then waiting for the server to store it.',
          initial: 'sendingBytes',
          states: {
            sendingBytes: {
              description: 'Streaming exactly size bytes of the local file (after put, hashed on the way, then the SHA-256 line).',
              invoke: {
                id: 'sendFile',
                src: 'sendFile',
                input: ({ context }) => ({ name: (context.command as { name: string }).name, size: context.size!, hash: context.sentPut, from: context.uploadFrom }),
                onDone: [
                  {
                    guard: { type: 'hashed', params: ({ event }) => event.output },
                    target: 'awaitingStored',
                    actions: [
                      { type: 'send', params: ({ event }) => ({ line: event.output.sha256! }) },
                      { type: 'recordTransfer', params: ({ event }) => ({ direction: 'upload' as const, report: event.output }) },
                    ],
                  },
                  {
                    target: 'awaitingStored',
                    actions: { type: 'recordTransfer', params: ({ event }) => ({ direction: 'upload' as const, report: event.output }) },
                  },
                ],
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
    hungUp: {
      description: "Said exit and closed the connection without waiting for the server's reply: nothing was left to hear.",
      type: 'final',
      entry: [{ type: 'send', params: { line: encodeCommand({ verb: 'exit' }) } }, 'closeConnection', assign({ outcome: { ok: true, kind: 'exited' } })],
    },
    closed: {
      description: 'The connection broke: the server went away or a transfer broke off.',
      type: 'final',
      entry: 'closeConnection',
    },
  },
})

/** The machine with no I/O: for the tests, trace replay and the exported statecharts (left out of a bundle that does not use it). */
export const clientSessionMachine = /* @__PURE__ */ defineClientSession(noIo)

export type ClientSessionMachine = typeof clientSessionMachine
