import { and, assign, fromPromise, setup } from 'xstate'
import type { Permission } from '../accounts/permissions.js'
import { publicReason } from '../errors.js'
import { FEATURES, Reply, encodeSize, encodeVerifiedSize, errorReply } from '../protocol/index.js'
import {
  ClosingReply,
  LOGGED_REFUSALS,
  LoginReply,
  decideCommand,
  decideChecksum,
  decideUploadSize,
  resumeFrom,
  type ChecksumDecision,
  type CommandDecision,
  type LineResult,
  type ManyFile,
  type SessionLimits,
  type SizeDecision,
} from './session-rules.js'

/**
 * One connected client, as the server sees it. Pure definition: the actors and
 * actions below are placeholders, and `src/actors/server-session-io.ts` provides
 * the real ones (socket, folder) with `machine.provide(...)`. So replay and
 * transition tests run this exact machine without any I/O.
 *
 * Timeouts are delayed transitions: `idleTimeout` while awaiting a command or a
 * size, `stallTimeout` while a listing or transfer makes no progress (the I/O
 * reports progress with `io.progress` about once a second, never per chunk).
 */

export interface SessionInput {
  readonly clientId: string
  readonly limits: SessionLimits
  /** The session's I/O (its connection), opaque to the machine; absent in replays and transition tests. */
  readonly io?: unknown
}

/** What every provided actor gets: the session's I/O and its id. */
export interface SessionRef {
  readonly clientId: string
  readonly io: unknown
}

export interface Transfer {
  readonly direction: 'download' | 'upload'
  readonly name: string
  readonly size: number
  /** An upload may replace an existing file (the overwrite permission); without it the name must still be free at commit. */
  readonly replace?: boolean
  /** A download's first byte (a resumed verified download); 0 or absent: the whole file. */
  readonly offset?: number
  /** The file's SHA-256, when the client asked for a verified download. */
  readonly sha256?: string
  /** A verified upload (put): a checksum line follows the bytes, and the file is stored only if it matches. */
  readonly verified?: boolean
  /** A put by a logged-in account with the client's key for its file: a cut is kept for that account to continue. */
  readonly resume?: { readonly owner: string; readonly key: string }
}

export interface SessionContext extends SessionInput {
  /** The decision on the last command line, taken once when it was read. */
  readonly decision: CommandDecision | undefined
  /** The decision on the last upload size line. */
  readonly size: SizeDecision | undefined
  /** A verified upload received, waiting for its checksum line: what the bytes hashed to, and how the transfer went. */
  readonly received: TransferReport | undefined
  /** The decision on that checksum line. */
  readonly checksum: ChecksumDecision | undefined
  /** The answer to a refused store, sent once its bytes have been read and dropped. */
  readonly heldReply: string | undefined
  readonly transfer: Transfer | undefined
  /** Bytes moved by the transfer in progress, as last reported by the I/O. */
  readonly transferred: number
  /** When the session last started waiting for a command (ms since the epoch). */
  readonly idleSince: number
  /** Refused lines in a row. */
  readonly refusals: number
  /** The server is shutting down: end after the transfer in progress. */
  readonly draining: boolean
  /** The account logged in with `auth`, or undefined (anonymous). */
  readonly account: string | undefined
  /** What the session may do: the account's permissions, or the anonymous ones. */
  readonly permissions: readonly Permission[]
  /** Failed `auth` attempts so far. */
  readonly failedLogins: number
}

/** `whole`: the file is small and was read whole when opened; its bytes go out with its size line. */
export type DownloadLookup = { readonly found: true; readonly size: number; readonly sha256?: string; readonly whole?: boolean } | { readonly found: false }

export interface TransferReport {
  readonly bytes: number
  readonly durationMs: number
  /** A verified upload's bytes hashed as they arrived (not stored yet). */
  readonly sha256?: string
}

/** What a `gets` did: the files sent whole, their bytes, and the names answered Not found file or refused. */
export interface ManyReport {
  readonly sent: number
  readonly bytes: number
  readonly durationMs: number
  readonly missing: readonly string[]
}

/** What a `stores` did: the entries stored, their bytes, the names refused; `closing`: why the session ends after it (an entry that could not be delimited). */
export interface ManyStoredReport {
  readonly stored: number
  readonly bytes: number
  readonly durationMs: number
  readonly refused: readonly string[]
  readonly closing?: string
}

/** The problem of a failed actor: `message` for the server's log, `publicReason` safe to send to the client. */
export interface Failure {
  readonly message: string
  readonly publicReason: string
}

export type SessionLog =
  | { readonly kind: 'refused'; readonly command: string; readonly reason: string }
  | { readonly kind: 'refusalsSummarized'; readonly count: number }
  | { readonly kind: 'transferred'; readonly transfer: Transfer; readonly report: TransferReport }
  | { readonly kind: 'transferFailed'; readonly transfer: Transfer; readonly reason: string }
  | { readonly kind: 'sentMany'; readonly asked: number; readonly report: ManyReport }
  | { readonly kind: 'storedMany'; readonly report: ManyStoredReport }
  | { readonly kind: 'closing'; readonly reason: string }
  | { readonly kind: 'login'; readonly account: string }

export type SessionEvent =
  | { readonly type: 'io.progress'; readonly bytes: number }
  | { readonly type: 'session.kick' }
  | { readonly type: 'session.drain' }

const notProvided = (what: string) => () => {
  throw new Error(`${what} is provided by src/actors; this machine definition has no I/O`)
}

const failureOf = (error: unknown): Failure => ({
  message: (error as { message?: string } | undefined)?.message ?? String(error),
  publicReason: publicReason(error),
})

const ref = ({ context }: { context: SessionContext }): SessionRef => ({ clientId: context.clientId, io: context.io })

/** The summary of refusals not logged one by one, if there were any. */
const refusalSummary = (context: SessionContext): SessionLog | undefined =>
  context.refusals > LOGGED_REFUSALS ? { kind: 'refusalsSummarized', count: context.refusals - LOGGED_REFUSALS } : undefined

const decision = (context: SessionContext) => context.decision!
/** The name of the download or upload decided on (only read in the states that follow such a decision). */
const nameOf = (context: SessionContext): string => (decision(context) as { name: string }).name
/** A store's size and SHA-256 (given with its command), or undefined for upload and put. */
const wholeOf = (context: SessionContext) => {
  const decided = context.decision
  return decided?.next === 'upload' ? decided.whole : undefined
}
/** Bytes that follow the command line just decided on: a store's, refused or not. */
const payloadOf = (context: SessionContext): number => {
  const decided = decision(context)
  return decided.next === 'refuse' ? (decided.payload ?? 0) : (wholeOf(context)?.size ?? 0)
}
/** An existing name needs overwrite, a new one upload. */
const mayWrite = (context: SessionContext, target: { readonly exists: boolean }) => context.permissions.includes(target.exists ? 'overwrite' : 'upload')
/** The log entry of the refused line just decided on: the first few in a row one by one, the rest summarized later. */
const refusalLog = (context: SessionContext): SessionLog | undefined => {
  const refused = decision(context) as { command: string; reason: string }
  return context.refusals <= LOGGED_REFUSALS ? { kind: 'refused', command: refused.command, reason: refused.reason } : undefined
}
/** The upload decided on, once its size line was accepted. */
const uploadOf = (context: SessionContext): Transfer => {
  const size = context.size as Extract<SizeDecision, { accepted: true }>
  // Only an account's uploads are kept to continue: anonymous clients cannot tell each other apart.
  const resume = size.key !== undefined && context.account !== undefined ? { owner: context.account, key: size.key } : undefined
  return {
    direction: 'upload',
    name: nameOf(context),
    size: size.size,
    replace: context.permissions.includes('overwrite'),
    ...((decision(context) as Extract<CommandDecision, { next: 'upload' }>).verified ? { verified: true } : {}),
    ...(resume ? { resume } : {}),
  }
}
/** `ok`, or after a keyed put `ok <from>`: where the client continues (0: from the start). */
const sizeAccepted = (context: SessionContext, from: number): string =>
  (context.size as Extract<SizeDecision, { accepted: true }>).key !== undefined ? `${Reply.ok} ${from}` : Reply.ok
/** The `error <reason>` reply for a failed actor: never a server path. */
const failureReply = ({ event }: { event: { error: unknown } }) => ({ lines: [errorReply(failureOf(event.error).publicReason)] })

type FoundFile = Extract<DownloadLookup, { found: true }>
/** The `get` part of a download decision: an offset and the hash the client has the beginning of. */
const verifiedOf = (context: SessionContext) => (decision(context) as Extract<CommandDecision, { next: 'download' }>).verified
/** The download decided on, once the file is open: a `get` resumes where resumeFrom says. */
const downloadOf = (context: SessionContext, file: FoundFile): Transfer => {
  const verified = verifiedOf(context)
  const sha256 = verified && file.sha256
  return { direction: 'download', name: nameOf(context), size: file.size, ...(sha256 ? { sha256, offset: resumeFrom(verified, { size: file.size, sha256 }) } : {}) }
}
/** `<size>` after download, `<size> <sha256> <from>` after get. */
const downloadSizeLine = (transfer: Transfer): string =>
  transfer.sha256 ? encodeVerifiedSize({ size: transfer.size, sha256: transfer.sha256, from: transfer.offset ?? 0 }) : encodeSize(transfer.size)

/** A command was accepted: refused lines before it are summarized in the log, and the count starts again. */
const commandAccepted = [{ type: 'log' as const, params: ({ context }: { context: SessionContext }) => refusalSummary(context) }, 'resetRefusals' as const]

/** Waiting for the line that follows in an upload: after idleTimeout without it, the session ends (dropping the upload when given). */
const closeWhenNoLine = (line: string, first: readonly 'discardUpload'[] = []) => ({
  after: {
    idleTimeout: {
      target: 'closed' as const,
      actions: [
        ...first,
        { type: 'reply' as const, params: ({ context }: { context: SessionContext }) => ({ lines: [ClosingReply.idle(context.limits.idleTimeoutMs)] }) },
        {
          type: 'log' as const,
          params: ({ context }: { context: SessionContext }): SessionLog => ({ kind: 'closing', reason: `no ${line} line for ${context.limits.idleTimeoutMs} ms` }),
        },
      ],
    },
  },
})

/** A child state that ends the session when no `io.progress` arrives for stallTimeout. */
const stallWatch = (options: { readonly replyOnStall: boolean }) => ({
  initial: 'progressing' as const,
  states: {
    progressing: {
      description: 'Each io.progress restarts the stall timer.',
      on: {
        'io.progress': {
          target: 'progressing',
          reenter: true,
          actions: 'recordProgress' as const,
        },
      },
      after: {
        stallTimeout: {
          target: '#serverSession.closed',
          actions: [
            ...(options.replyOnStall
              ? [{ type: 'reply' as const, params: ({ context }: { context: SessionContext }) => ({ lines: [ClosingReply.stalled(context.limits.stallTimeoutMs)] }) }]
              : []),
            {
              type: 'log' as const,
              params: ({ context }: { context: SessionContext }) => ({ kind: 'closing' as const, reason: `stalled: no progress for ${context.limits.stallTimeoutMs} ms` }),
            },
          ],
        },
      },
    },
  },
})

export const serverSessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  delays: {
    loginDelay: ({ context }) => context.limits.loginDelayMs,
    idleTimeout: ({ context }) => context.limits.idleTimeoutMs,
    stallTimeout: ({ context }) => context.limits.stallTimeoutMs,
  },
  actors: {
    readLine: fromPromise<LineResult, SessionRef>(notProvided('readLine')),
    streamListing: fromPromise<{ count: number }, SessionRef & { search: string | undefined; hashes: boolean }>(notProvided('streamListing')),
    openDownload: fromPromise<DownloadLookup, SessionRef & { name: string; hash: boolean }>(notProvided('openDownload')),
    /** A gets: for each file in order, what get 0 - <name> answers after its ok (a refused name's reply in its place), waiting for the client to read. */
    sendMany: fromPromise<ManyReport, SessionRef & { files: readonly ManyFile[] }>(notProvided('sendMany')),
    prepareUpload: fromPromise<{ from: number }, SessionRef & Transfer>(notProvided('prepareUpload')),
    /**
     * A stores: its entries, each read (line and bytes), stored only if its bytes hash to its SHA-256,
     * and answered in order, up to the empty line; a few are stored at once.
     */
    storeMany: fromPromise<
      ManyStoredReport,
      SessionRef & { refused: { reply: string; reason: string } | undefined; permissions: readonly Permission[]; maxUploadBytes: number }
    >(notProvided('storeMany')),
    verifyLogin: fromPromise<readonly Permission[] | undefined, SessionRef & { account: string; token: string }>(notProvided('verifyLogin')),
    statTarget: fromPromise<{ exists: boolean }, SessionRef & { name: string }>(notProvided('statTarget')),
    sendFile: fromPromise<TransferReport, SessionRef & Transfer>(notProvided('sendFile')),
    receiveUpload: fromPromise<TransferReport, SessionRef & Transfer>(notProvided('receiveUpload')),
    commitUpload: fromPromise<void, SessionRef & { sha256: string }>(notProvided('commitUpload')),
    /**
     * A store's bytes: received, hashed, and stored under the name only if they hash to `sha256`
     * (the SHA-256 they hashed to is the output, stored or not). Bytes are read whole even when
     * the store fails, so the next command parses.
     */
    storeWhole: fromPromise<TransferReport & { stored: boolean }, SessionRef & Transfer & { sha256: string }>(notProvided('storeWhole')),
    /** Reads and drops `size` payload bytes (a refused store's), so the next command parses. */
    dropPayload: fromPromise<void, SessionRef & { size: number }>(notProvided('dropPayload')),
  },
  actions: {
    reply: (_, _params: { lines: readonly string[] }) => notProvided('reply')(),
    /** Sends the small file read whole when it was opened, from `offset`. */
    sendWholeFile: (_, _params: { offset: number }) => notProvided('sendWholeFile')(),
    /** Writes one log line; undefined logs nothing. */
    log: (_, _params: SessionLog | undefined) => notProvided('log')(),
    closeConnection: notProvided('closeConnection'),
    /** Drops a received upload that will not be stored (its temporary file, its multipart upload). */
    discardUpload: notProvided('discardUpload'),
    startWaiting: assign({
      decision: undefined,
      size: undefined,
      transfer: undefined,
      transferred: 0,
      received: undefined,
      checksum: undefined,
      heldReply: undefined,
      idleSince: () => Date.now(),
    }),
    holdReply: assign({ heldReply: (_, params: { line: string }) => params.line }),
    /** A store's size came with its command: decided like an upload's size line. */
    storeWholeSize: assign(({ context }) => ({
      size: decideUploadSize({ _tag: 'Line', text: String(wholeOf(context)!.size) }, context.limits.maxUploadBytes, true),
    })),
    /** A store's SHA-256 came with its command: decided like a put's checksum line, once the bytes are in. */
    storeWholeChecksum: assign(({ context }, report: TransferReport) => ({
      received: report,
      checksum: decideChecksum({ _tag: 'Line', text: wholeOf(context)!.sha256 }, report.sha256 ?? ''),
    })),
    storeReceived: assign({ received: (_, report: TransferReport) => report }),
    storeChecksum: assign({ checksum: ({ context }, line: LineResult) => decideChecksum(line, context.received?.sha256 ?? '') }),
    storeDecision: assign({
      decision: ({ context }, line: LineResult) => decideCommand(line, { account: context.account, permissions: context.permissions }),
    }),
    logIn: assign((_, login: { account: string; permissions: readonly Permission[] }) => ({ ...login, failedLogins: 0 })),
    countFailedLogin: assign({ failedLogins: ({ context }) => context.failedLogins + 1 }),
    storeSize: assign(({ context }, line: LineResult) => ({
      size: decideUploadSize(line, context.limits.maxUploadBytes, (decision(context) as Extract<CommandDecision, { next: 'upload' }>).verified === true),
    })),
    countRefusal: assign({ refusals: ({ context }) => context.refusals + 1 }),
    resetRefusals: assign({ refusals: 0 }),
    markDraining: assign({ draining: true }),
    recordProgress: assign({ transferred: ({ context, event }) => (event.type === 'io.progress' ? event.bytes : context.transferred) }),
    startTransfer: assign({ transfer: (_, transfer: Transfer) => transfer, transferred: 0 }),
  },
  guards: {
    decidedTo: ({ context }, next: CommandDecision['next']) => decision(context).next === next,
    refusalLimitReached: ({ context }) => context.refusals + 1 >= context.limits.maxRefusals,
    sizeAccepted: ({ context }) => context.size?.accepted === true,
    uploadVerified: ({ context }) => context.transfer?.verified === true,
    checksumMatches: ({ context }) => context.checksum?.matches === true,
    fileFound: (_, lookup: DownloadLookup) => lookup.found,
    wholeUpload: ({ context }) => wholeOf(context) !== undefined,
    wholeStored: (_, report: { stored: boolean }) => report.stored,
    closingAfter: (_, report: ManyStoredReport) => report.closing !== undefined,
    refusedWithPayload: ({ context }) => payloadOf(context) > 0,
    refusedAndClose: ({ context }) => (decision(context) as { close?: boolean }).close === true,
    wholeFileRead: (_, lookup: DownloadLookup) => lookup.found && lookup.whole === true,
    peerClosed: (_, error: unknown) => (error as { _tag?: string } | undefined)?._tag === 'PeerClosed',
    draining: ({ context }) => context.draining,
    loginAccepted: (_, permissions: readonly Permission[] | undefined) => permissions !== undefined,
    tooManyFailedLogins: ({ context }) => context.failedLogins >= context.limits.maxFailedLogins,
    /** An existing name needs overwrite, a new one upload. */
    mayWriteTarget: ({ context }, target: { exists: boolean }) => mayWrite(context, target),
    /** The same for a store. */
    mayWriteWhole: ({ context }, target: { exists: boolean }) => wholeOf(context) !== undefined && mayWrite(context, target),
    mayWriteAnyName: ({ context }) => context.permissions.includes('upload') && context.permissions.includes('overwrite'),
    /** Payload bytes are on the wire to the client: no reply line may interrupt them. */
    sendingPayload: ({ context }) => context.transfer?.direction === 'download' || context.decision?.next === 'downloadMany',
  },
}).createMachine({
  id: 'serverSession',
  context: ({ input }) => ({
    ...input,
    decision: undefined,
    size: undefined,
    received: undefined,
    checksum: undefined,
    heldReply: undefined,
    transfer: undefined,
    transferred: 0,
    idleSince: 0,
    refusals: 0,
    draining: false,
    account: undefined,
    permissions: input.limits.anonymous,
    failedLogins: 0,
  }),
  initial: 'awaitingCommand',
  on: {
    'session.kick': [
      {
        guard: 'sendingPayload',
        target: '.closed',
        actions: { type: 'log', params: { kind: 'closing', reason: 'kicked by the operator' } },
      },
      {
        target: '.closed',
        actions: [
          { type: 'reply', params: { lines: [ClosingReply.kicked] } },
          { type: 'log', params: { kind: 'closing', reason: 'kicked by the operator' } },
        ],
      },
    ],
    'session.drain': { actions: 'markDraining' },
  },
  states: {
    awaitingCommand: {
      description: 'Waiting for the next command line (pipelined lines wait their turn; none is read while replies wait to be sent). Closed after idleTimeout, or at once when the server is shutting down.',
      entry: 'startWaiting',
      always: {
        guard: 'draining',
        target: 'closed',
        actions: [
          { type: 'reply', params: { lines: [ClosingReply.shuttingDown] } },
          { type: 'log', params: { kind: 'closing', reason: 'server shutting down' } },
        ],
      },
      after: {
        idleTimeout: {
          target: 'closed',
          actions: [
            { type: 'reply', params: ({ context }) => ({ lines: [ClosingReply.idle(context.limits.idleTimeoutMs)] }) },
            { type: 'log', params: ({ context }) => ({ kind: 'closing', reason: `idle for ${context.limits.idleTimeoutMs} ms` }) },
          ],
        },
      },
      invoke: {
        id: 'readCommand',
        src: 'readLine',
        input: ref,
        onDone: { target: 'dispatching', actions: { type: 'storeDecision', params: ({ event }) => event.output } },
        // The client's input ended (every line before it was answered) or the connection broke.
        onError: 'closed',
      },
    },
    dispatching: {
      description: 'Acts on the decision taken once on the line just read.',
      always: [
        { guard: { type: 'decidedTo', params: 'list' }, target: 'streamingList', actions: commandAccepted },
        { guard: { type: 'decidedTo', params: 'download' }, target: 'sendingSize', actions: commandAccepted },
        { guard: { type: 'decidedTo', params: 'downloadMany' }, target: 'sendingMany', actions: [...commandAccepted, { type: 'reply', params: { lines: [Reply.ok] } }] },
        // Allowed to write any name (new or existing): nothing to look up before the upload.
        {
          guard: and([{ type: 'decidedTo', params: 'upload' as const }, 'mayWriteAnyName', 'wholeUpload']),
          target: 'checkingSize',
          actions: [...commandAccepted, 'storeWholeSize'],
        },
        {
          guard: and([{ type: 'decidedTo', params: 'upload' as const }, 'mayWriteAnyName']),
          target: 'receivingSize',
          actions: [...commandAccepted, { type: 'reply', params: { lines: [Reply.ok] } }],
        },
        { guard: { type: 'decidedTo', params: 'upload' }, target: 'checkingTarget', actions: commandAccepted },
        { guard: { type: 'decidedTo', params: 'uploadMany' }, target: 'storingMany', actions: commandAccepted },
        { guard: { type: 'decidedTo', params: 'auth' }, target: 'authenticating', actions: commandAccepted },
        { guard: { type: 'decidedTo', params: 'exit' }, target: 'exit', actions: commandAccepted },
        {
          guard: { type: 'decidedTo', params: 'features' },
          target: 'awaitingCommand',
          actions: [...commandAccepted, { type: 'reply', params: { lines: [Reply.ok, ...FEATURES, Reply.end] } }],
        },
        {
          // A store line without a size that can be trusted: its bytes cannot be told from the next command.
          guard: 'refusedAndClose',
          target: 'closed',
          actions: [
            { type: 'reply', params: ({ context }) => ({ lines: [(decision(context) as { reply: string }).reply] }) },
            { type: 'log', params: ({ context }) => ({ kind: 'closing', reason: (decision(context) as { reason: string }).reason }) },
          ],
        },
        {
          guard: 'refusalLimitReached',
          target: 'closed',
          actions: [
            { type: 'reply', params: ({ context }) => ({ lines: [ClosingReply.refusals(context.limits.maxRefusals)] }) },
            'countRefusal',
            { type: 'log', params: ({ context }) => ({ kind: 'closing', reason: `${context.refusals} refused lines in a row` }) },
          ],
        },
        {
          // A refused store: its bytes are read and dropped first, then the refusal is answered.
          guard: 'refusedWithPayload',
          target: 'droppingPayload',
          actions: [
            { type: 'holdReply', params: ({ context }) => ({ line: (decision(context) as { reply: string }).reply }) },
            'countRefusal',
            { type: 'log', params: ({ context }) => refusalLog(context) },
          ],
        },
        {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: ({ context }) => ({ lines: [(decision(context) as { reply: string }).reply] }) },
            'countRefusal',
            { type: 'log', params: ({ context }) => refusalLog(context) },
          ],
        },
      ],
    },
    streamingList: {
      description: 'Sending ok, one row per file (all, or the search matches; for hashes, with each SHA-256) and end, as fast as the client reads.',
      invoke: {
        id: 'listFiles',
        src: 'streamListing',
        input: ({ context }) => {
          const list = decision(context) as Extract<CommandDecision, { next: 'list' }>
          return { ...ref({ context }), search: list.search, hashes: list.hashes === true }
        },
        onDone: 'awaitingCommand',
        onError: [
          { guard: { type: 'peerClosed', params: ({ event }: { event: { error: unknown } }) => event.error }, target: 'closed' },
          {
            target: 'awaitingCommand',
            actions: { type: 'reply', params: failureReply },
          },
        ],
      },
      ...stallWatch({ replyOnStall: false }),
    },
    sendingSize: {
      description:
        'Opening the file to download (and, for get, knowing its SHA-256), then answering ok, found and its size line, or ok and Not found file. A get whose offset and hash match resumes there. A small file is read whole here and sent with its size line.',
      invoke: {
        id: 'openDownload',
        src: 'openDownload',
        input: ({ context }) => ({ ...ref({ context }), name: nameOf(context), hash: verifiedOf(context) !== undefined }),
        onDone: [
          {
            // A small file: its bytes follow the size line in the same write; nothing left to stream.
            guard: { type: 'wholeFileRead', params: ({ event }) => event.output },
            target: 'awaitingCommand',
            actions: [
              { type: 'startTransfer', params: ({ context, event }) => downloadOf(context, event.output as FoundFile) },
              { type: 'reply', params: ({ context }) => ({ lines: [Reply.ok, Reply.found, downloadSizeLine(context.transfer!)] }) },
              { type: 'sendWholeFile', params: ({ context }) => ({ offset: context.transfer!.offset ?? 0 }) },
              {
                type: 'log',
                params: ({ context }) => ({
                  kind: 'transferred',
                  transfer: context.transfer!,
                  report: { bytes: context.transfer!.size - (context.transfer!.offset ?? 0), durationMs: 0 },
                }),
              },
            ],
          },
          {
            guard: { type: 'fileFound', params: ({ event }) => event.output },
            target: 'transferring.sendingFile',
            actions: [
              { type: 'startTransfer', params: ({ context, event }) => downloadOf(context, event.output as FoundFile) },
              { type: 'reply', params: ({ context }) => ({ lines: [Reply.ok, Reply.found, downloadSizeLine(context.transfer!)] }) },
            ],
          },
          {
            target: 'awaitingCommand',
            actions: [
              { type: 'reply', params: { lines: [Reply.ok, Reply.notFound] } },
              {
                type: 'log',
                params: ({ context }) => ({ kind: 'refused', command: `download ${nameOf(context)}`, reason: 'not found' }),
              },
            ],
          },
        ],
        onError: {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: failureReply },
            {
              type: 'log',
              params: ({ context, event }) => ({
                kind: 'refused',
                command: `download ${nameOf(context)}`,
                reason: failureOf(event.error).message,
              }),
            },
          ],
        },
      },
    },
    sendingMany: {
      description:
        'A gets, after its ok: for each name in order, found, the size line of get and the whole file, or Not found file, or the refusal of an invalid name; as fast as the client reads.',
      invoke: {
        id: 'sendMany',
        src: 'sendMany',
        input: ({ context }) => ({ ...ref({ context }), files: (decision(context) as Extract<CommandDecision, { next: 'downloadMany' }>).files }),
        onDone: {
          target: 'awaitingCommand',
          actions: {
            type: 'log',
            params: ({ context, event }) => ({ kind: 'sentMany', asked: (decision(context) as Extract<CommandDecision, { next: 'downloadMany' }>).files.length, report: event.output }),
          },
        },
        // Part of a file may already be on the wire: the byte stream cannot be resynchronised.
        onError: {
          target: 'closed',
          actions: { type: 'log', params: ({ event }) => ({ kind: 'closing', reason: `gets failed: ${failureOf(event.error).message}` }) },
        },
      },
      ...stallWatch({ replyOnStall: false }),
    },
    storingMany: {
      description:
        'A stores: each entry read (its line, then its bytes), stored only if they hash to its SHA-256 (a few at once) and answered in order with end or error, up to the empty line. A session that may not upload has every entry dropped and answered with the refusal; an entry that cannot be delimited ends the session after its answer.',
      invoke: {
        id: 'storeMany',
        src: 'storeMany',
        input: ({ context }) => ({
          ...ref({ context }),
          refused: (decision(context) as Extract<CommandDecision, { next: 'uploadMany' }>).refused,
          permissions: context.permissions,
          maxUploadBytes: context.limits.maxUploadBytes,
        }),
        onDone: [
          {
            guard: { type: 'closingAfter', params: ({ event }) => event.output },
            target: 'closed',
            actions: [
              { type: 'log', params: ({ event }) => ({ kind: 'storedMany', report: event.output }) },
              { type: 'log', params: ({ event }) => ({ kind: 'closing', reason: event.output.closing! }) },
            ],
          },
          { target: 'awaitingCommand', actions: { type: 'log', params: ({ event }) => ({ kind: 'storedMany', report: event.output }) } },
        ],
        onError: [
          {
            guard: { type: 'peerClosed', params: ({ event }: { event: { error: unknown } }) => event.error },
            target: 'closed',
            actions: { type: 'log', params: ({ event }) => ({ kind: 'closing', reason: `stores cut: ${failureOf(event.error).message}` }) },
          },
          {
            // The entries that follow cannot be told apart any more.
            target: 'closed',
            actions: [
              { type: 'reply', params: failureReply },
              { type: 'log', params: ({ event }) => ({ kind: 'closing', reason: `stores failed: ${failureOf(event.error).message}` }) },
            ],
          },
        ],
      },
      ...stallWatch({ replyOnStall: true }),
    },
    authenticating: {
      description: 'Checking auth <account> <token> against the accounts (scrypt, constant-time).',
      invoke: {
        id: 'verifyLogin',
        src: 'verifyLogin',
        input: ({ context }) => {
          const login = decision(context) as { account: string; token: string }
          return { ...ref({ context }), account: login.account, token: login.token }
        },
        onDone: [
          {
            guard: { type: 'loginAccepted', params: ({ event }) => event.output },
            target: 'awaitingCommand',
            actions: [
              {
                type: 'logIn',
                params: ({ context, event }) => ({ account: (decision(context) as { account: string }).account, permissions: event.output! }),
              },
              { type: 'reply', params: { lines: [Reply.ok] } },
              { type: 'log', params: ({ context }) => ({ kind: 'login', account: context.account! }) },
            ],
          },
          { target: 'loginRefused' },
        ],
        onError: { target: 'awaitingCommand', actions: { type: 'reply', params: failureReply } },
      },
    },
    loginRefused: {
      description: 'A failed login is answered after loginDelay; after maxFailedLogins failures the session is closed.',
      entry: [
        'countFailedLogin',
        { type: 'log', params: ({ context }) => ({ kind: 'refused', command: `auth ${(decision(context) as { account: string }).account} <token>`, reason: 'authentication failed' }) },
      ],
      after: {
        loginDelay: [
          {
            guard: 'tooManyFailedLogins',
            target: 'closed',
            actions: [
              { type: 'reply', params: { lines: [ClosingReply.failedLogins] } },
              { type: 'log', params: ({ context }) => ({ kind: 'closing', reason: `${context.failedLogins} failed logins` }) },
            ],
          },
          { target: 'awaitingCommand', actions: { type: 'reply', params: { lines: [LoginReply.failed] } } },
        ],
      },
    },
    checkingTarget: {
      description:
        'An upload needs upload for a new name, overwrite for an existing one: answered ok or error permission denied (a store: its bytes are dropped first). A session that may do both skips this.',
      invoke: {
        id: 'statTarget',
        src: 'statTarget',
        input: ({ context }) => ({ ...ref({ context }), name: nameOf(context) }),
        onDone: [
          // A store: no ok, its size came with the command and its bytes are on the way.
          { guard: { type: 'mayWriteWhole', params: ({ event }) => event.output }, target: 'checkingSize', actions: 'storeWholeSize' },
          {
            guard: { type: 'mayWriteTarget', params: ({ event }) => event.output },
            target: 'receivingSize',
            actions: { type: 'reply', params: { lines: [Reply.ok] } },
          },
          {
            guard: 'wholeUpload',
            target: 'droppingPayload',
            actions: [
              { type: 'holdReply', params: { line: LoginReply.permissionDenied } },
              {
                type: 'log',
                params: ({ context }) => ({ kind: 'refused', command: `store ${nameOf(context)}`, reason: `${context.account ?? 'anonymous'} may not replace an existing file` }),
              },
            ],
          },
          {
            target: 'awaitingCommand',
            actions: [
              { type: 'reply', params: { lines: [LoginReply.permissionDenied] } },
              {
                type: 'log',
                params: ({ context }) => ({ kind: 'refused', command: `upload ${nameOf(context)}`, reason: `${context.account ?? 'anonymous'} may not replace an existing file` }),
              },
            ],
          },
        ],
        onError: [
          { guard: 'wholeUpload', target: 'droppingPayload', actions: { type: 'holdReply', params: ({ event }) => ({ line: failureReply({ event }).lines[0]! }) } },
          { target: 'awaitingCommand', actions: { type: 'reply', params: failureReply } },
        ],
      },
    },
    receivingSize: {
      description: 'Upload accepted with ok; waiting for the size line (closed after idleTimeout).',
      ...closeWhenNoLine('size'),
      invoke: {
        id: 'readUploadSize',
        src: 'readLine',
        input: ref,
        onDone: { target: 'checkingSize', actions: { type: 'storeSize', params: ({ event }) => event.output } },
        onError: 'closed',
      },
    },
    checkingSize: {
      description: 'A bad or too large size gets an error and the session goes on; no payload follows it.',
      always: [
        { guard: and(['sizeAccepted', 'wholeUpload']), target: 'storingWhole', actions: { type: 'startTransfer', params: ({ context }) => uploadOf(context) } },
        { guard: 'sizeAccepted', target: 'preparingUpload' },
        {
          guard: 'wholeUpload',
          target: 'droppingPayload',
          actions: [
            { type: 'holdReply', params: ({ context }) => ({ line: (context.size as { reply: string }).reply }) },
            {
              type: 'log',
              params: ({ context }) => {
                const size = context.size as { text: string; reason: string }
                return { kind: 'refused', command: `store ${nameOf(context)} (size ${size.text})`, reason: size.reason }
              },
            },
          ],
        },
        {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: ({ context }) => ({ lines: [(context.size as { reply: string }).reply] }) },
            {
              type: 'log',
              params: ({ context }) => {
                const size = context.size as { text: string; reason: string }
                return { kind: 'refused', command: `upload ${nameOf(context)} (size ${size.text})`, reason: size.reason }
              },
            },
          ],
        },
      ],
    },
    preparingUpload: {
      description: 'Checking free space and creating the hidden temporary file before saying ok; a failure is answered with error and no payload follows.',
      invoke: {
        id: 'prepareUpload',
        src: 'prepareUpload',
        input: ({ context }) => ({ ...ref({ context }), ...uploadOf(context) }),
        onDone: {
          target: 'transferring.receivingFile',
          actions: [
            // (Traces recorded before uploads could be continued have no output here: from 0.)
            {
              type: 'startTransfer',
              params: ({ context, event }) => ({ ...uploadOf(context), ...((event.output?.from ?? 0) > 0 ? { offset: event.output!.from } : {}) }),
            },
            { type: 'reply', params: ({ context, event }) => ({ lines: [sizeAccepted(context, event.output?.from ?? 0)] }) },
          ],
        },
        onError: {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: failureReply },
            {
              type: 'log',
              params: ({ context, event }) => ({
                kind: 'refused',
                command: `upload ${nameOf(context)} (size ${uploadOf(context).size})`,
                reason: failureOf(event.error).message,
              }),
            },
          ],
        },
      },
    },
    transferring: {
      description: 'Payload bytes move as a Node stream; the machine only sees progress about once a second and the transfer end.',
      initial: 'sendingFile',
      states: {
        sendingFile: {
          description: 'Streaming exactly the announced bytes of the opened file to the client.',
          invoke: {
            id: 'sendFile',
            src: 'sendFile',
            input: ({ context }) => ({ ...ref({ context }), ...context.transfer! }),
            onDone: {
              target: '#serverSession.awaitingCommand',
              actions: { type: 'log', params: ({ context, event }) => ({ kind: 'transferred', transfer: context.transfer!, report: event.output }) },
            },
            // Part of the payload may already be on the wire: the byte stream cannot be resynchronised.
            onError: {
              target: '#serverSession.closed',
              actions: {
                type: 'log',
                params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }),
              },
            },
          },
          ...stallWatch({ replyOnStall: false }),
        },
        receivingFile: {
          description: 'Writing exactly size bytes to the hidden temporary file, renamed into place before end. If storage fails mid-way the rest of the payload is read and dropped, then error.',
          invoke: {
            id: 'receiveUpload',
            src: 'receiveUpload',
            input: ({ context }) => ({ ...ref({ context }), ...context.transfer! }),
            onDone: [
              {
                // A verified upload is stored only once its checksum line matches what arrived.
                guard: 'uploadVerified',
                target: '#serverSession.awaitingChecksum',
                actions: { type: 'storeReceived', params: ({ event }) => event.output },
              },
              {
                target: '#serverSession.awaitingCommand',
                actions: [
                  { type: 'reply', params: { lines: [Reply.end] } },
                  { type: 'log', params: ({ context, event }) => ({ kind: 'transferred', transfer: context.transfer!, report: event.output }) },
                ],
              },
            ],
            onError: [
              {
                // The client went away: nothing to answer, the temporary file is already gone.
                guard: { type: 'peerClosed', params: ({ event }: { event: { error: unknown } }) => event.error },
                target: '#serverSession.closed',
                actions: {
                  type: 'log',
                  params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }),
                },
              },
              {
                // The whole payload was read (and dropped); the session goes on.
                target: '#serverSession.awaitingCommand',
                actions: [
                  { type: 'reply', params: failureReply },
                  {
                    type: 'log',
                    params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }),
                  },
                ],
              },
            ],
          },
          ...stallWatch({ replyOnStall: true }),
        },
      },
    },
    storingWhole: {
      description:
        'A store: its bytes are taken in one step (written to a hidden file, hashed) and stored only if they hash to the SHA-256 of its command; answered end, or error checksum mismatch, or the storage error (its bytes read all the same).',
      invoke: {
        id: 'storeWhole',
        src: 'storeWhole',
        input: ({ context }) => ({ ...ref({ context }), ...context.transfer!, sha256: wholeOf(context)!.sha256 }),
        onDone: [
          {
            guard: { type: 'wholeStored', params: ({ event }) => event.output },
            target: 'awaitingCommand',
            actions: [
              { type: 'storeWholeChecksum', params: ({ event }) => event.output },
              { type: 'reply', params: { lines: [Reply.end] } },
              { type: 'log', params: ({ context, event }) => ({ kind: 'transferred', transfer: context.transfer!, report: event.output }) },
            ],
          },
          {
            // Nothing was stored: the bytes hashed to something else.
            target: 'awaitingCommand',
            actions: [
              { type: 'storeWholeChecksum', params: ({ event }) => event.output },
              { type: 'reply', params: ({ context }) => ({ lines: [(context.checksum as { reply: string }).reply] }) },
              {
                type: 'log',
                params: ({ context }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: (context.checksum as { reason: string }).reason }),
              },
            ],
          },
        ],
        onError: [
          {
            guard: { type: 'peerClosed', params: ({ event }: { event: { error: unknown } }) => event.error },
            target: 'closed',
            actions: { type: 'log', params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }) },
          },
          {
            target: 'awaitingCommand',
            actions: [
              { type: 'reply', params: failureReply },
              { type: 'log', params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }) },
            ],
          },
        ],
      },
      ...stallWatch({ replyOnStall: true }),
    },
    droppingPayload: {
      description: 'A store refused before its bytes (name, permission, size): they are read and dropped, then the refusal is answered, so the next command parses.',
      invoke: {
        id: 'dropPayload',
        src: 'dropPayload',
        input: ({ context }) => ({ ...ref({ context }), size: payloadOf(context) }),
        onDone: { target: 'awaitingCommand', actions: { type: 'reply', params: ({ context }) => ({ lines: [context.heldReply!] }) } },
        onError: 'closed',
      },
      ...stallWatch({ replyOnStall: true }),
    },
    awaitingChecksum: {
      description: 'A verified upload (put) arrived and was hashed on the way; waiting for the SHA-256 line the client sends after the bytes.',
      ...closeWhenNoLine('checksum', ['discardUpload' as const]),
      invoke: {
        id: 'readChecksum',
        src: 'readLine',
        input: ref,
        onDone: { target: 'checkingChecksum', actions: { type: 'storeChecksum', params: ({ event }) => event.output } },
        onError: { target: 'closed', actions: 'discardUpload' },
      },
    },
    checkingChecksum: {
      description: 'Store the upload if the client’s SHA-256 is what the bytes hashed to; otherwise drop it and say checksum mismatch.',
      always: [
        { guard: 'checksumMatches', target: 'storingUpload' },
        {
          target: 'awaitingCommand',
          actions: [
            'discardUpload',
            { type: 'reply', params: ({ context }) => ({ lines: [(context.checksum as { reply: string }).reply] }) },
            {
              type: 'log',
              params: ({ context }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: (context.checksum as { reason: string }).reason }),
            },
          ],
        },
      ],
    },
    storingUpload: {
      description: 'Making the verified upload visible under its name (rename, or completing the multipart upload), then end.',
      invoke: {
        id: 'commitUpload',
        src: 'commitUpload',
        input: ({ context }) => ({ ...ref({ context }), sha256: context.received!.sha256! }),
        onDone: {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: { lines: [Reply.end] } },
            { type: 'log', params: ({ context }) => ({ kind: 'transferred', transfer: context.transfer!, report: context.received! }) },
          ],
        },
        onError: {
          target: 'awaitingCommand',
          actions: [
            { type: 'reply', params: failureReply },
            { type: 'log', params: ({ context, event }) => ({ kind: 'transferFailed', transfer: context.transfer!, reason: failureOf(event.error).message }) },
          ],
        },
      },
    },
    exit: {
      description: 'Said exit; the connection is closed once the reply is sent.',
      type: 'final',
      entry: [{ type: 'reply', params: { lines: [Reply.exit] } }, 'closeConnection'],
    },
    closed: {
      description: 'The client went away or its input ended, a transfer broke off or stalled, a timeout or a limit was reached, the operator kicked it, or the server shut down.',
      type: 'final',
      entry: [{ type: 'log', params: ({ context }) => refusalSummary(context) }, 'closeConnection'],
    },
  },
})

export type ServerSessionMachine = typeof serverSessionMachine
