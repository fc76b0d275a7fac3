import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { addAccount } from '../../src/accounts/accounts.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMachine, waitFor, type AnyActorRef } from 'xstate'
import { getShortestPaths } from 'xstate/graph'
import { RawClient, names } from '../support/raw-client.js'
import { startTestServer, waitForFolder, type TestServer } from '../support/server.js'

/**
 * An abstract model of a session as a client sees it: each event is one thing a
 * client does, each state what must hold afterwards. The real session machine
 * invokes actors, which path generation cannot step through; this model has none.
 */
const sessionModel = createMachine({
  id: 'sessionModel',
  initial: 'awaitingCommand',
  states: {
    awaitingCommand: {
      on: {
        SHOW: 'listed',
        SEARCH: 'searched',
        DOWNLOAD_EXISTING: 'downloaded',
        DOWNLOAD_MISSING: 'notFound',
        BAD_NAME: 'nameRefused',
        UNKNOWN: 'commandRefused',
        UPLOAD: 'receivingSize',
        GET_FRESH: 'gotWhole',
        GET_RESUME: 'resumed',
        GET_STALE: 'startedOver',
        GETS: 'gotMany',
        STORES: 'storingMany',
        PUT: 'putReceivingSize',
        STORE_LINE: 'storeReceivingFile',
        STORE_BAD_NAME: 'storeDropping',
        STORE_UNDELIMITED: 'storeClosed',
        FEATURES: 'featuresListed',
        AUTH_OK: 'loggedIn',
        AUTH_FAIL: 'loginFailed',
        EXIT: 'exit',
        EXIT_AND_HANG_UP: 'hungUp',
        DISCONNECT: 'disconnected',
      },
    },
    listed: {},
    searched: {},
    downloaded: {},
    notFound: {},
    nameRefused: {},
    commandRefused: {},
    loggedIn: {},
    loginFailed: { on: { AUTH_FAIL: 'loginFailedTwice' } },
    loginFailedTwice: { on: { AUTH_FAIL: 'loginsExhausted' } },
    loginsExhausted: { type: 'final' },
    receivingSize: { on: { SIZE_OK: 'receivingFile', SIZE_INVALID: 'sizeRefused', SIZE_TOO_LARGE: 'sizeTooLarge' } },
    sizeRefused: {},
    sizeTooLarge: {},
    receivingFile: { on: { SEND_BYTES: 'stored', DISCONNECT: 'disconnected' } },
    stored: {},
    gotWhole: {},
    resumed: {},
    startedOver: {},
    gotMany: {},
    storingMany: { on: { STORES_END: 'storedMany', DISCONNECT: 'disconnected' } },
    storedMany: {},
    putReceivingSize: { on: { PUT_SIZE_OK: 'putReceivingFile' } },
    putReceivingFile: { on: { PUT_BYTES: 'awaitingChecksum', DISCONNECT: 'disconnected' } },
    awaitingChecksum: { on: { CHECKSUM_OK: 'putStored', CHECKSUM_BAD: 'checksumRefused' } },
    putStored: {},
    checksumRefused: {},
    storeReceivingFile: { on: { STORE_BYTES_OK: 'storeStored', STORE_BYTES_BAD: 'storeChecksumRefused', DISCONNECT: 'disconnected' } },
    storeStored: {},
    storeChecksumRefused: {},
    storeDropping: { on: { STORE_DROPPED_BYTES: 'storeRefused', DISCONNECT: 'disconnected' } },
    storeRefused: {},
    storeClosed: { type: 'final' },
    featuresListed: {},
    exit: { type: 'final' },
    hungUp: { type: 'final' },
    disconnected: { type: 'final' },
  },
})

/** The server session state each model state must find (undefined: the session has ended). */
const serverState: Record<string, unknown> = {
  awaitingCommand: 'awaitingCommand',
  receivingSize: 'receivingSize',
  receivingFile: { transferring: { receivingFile: 'progressing' } },
  putReceivingSize: 'receivingSize',
  putReceivingFile: { transferring: { receivingFile: 'progressing' } },
  awaitingChecksum: 'awaitingChecksum',
  storeReceivingFile: { storingWhole: 'progressing' },
  storeDropping: { droppingPayload: 'progressing' },
  storeClosed: undefined,
  storingMany: { storingMany: 'progressing' },
  exit: undefined,
  hungUp: undefined,
  disconnected: undefined,
  loginsExhausted: undefined,
}

let t: TestServer
let token: string
let sessions = 0

beforeAll(async () => {
  t = await startTestServer({ maxUploadBytes: 100, session: { loginDelayMs: 5 } })
  token = await Effect.runPromise(addAccount(path.join(t.dir, '.tor-server'), 'modeler', ['read', 'upload', 'overwrite']))
  await writeFile(`${t.dir}/a.txt`, 'hello')
})
afterAll(() => t.stop())

const HELLO = createHash('sha256').update('hello').digest('hex')
const DATA = createHash('sha256').update('data').digest('hex')

/** What a client does for each model event, with the replies it must get. */
const steps: Record<string, (c: RawClient) => Promise<void>> = {
  SHOW: async (c) => {
    await c.send('show\n')
    expect(names(await c.listing())).toContain('a.txt')
  },
  SEARCH: async (c) => {
    await c.send('search a.t\n')
    expect(names(await c.listing())).toEqual(['a.txt'])
  },
  DOWNLOAD_EXISTING: async (c) => {
    await c.send('download a.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
    expect((await c.bytes(5)).toString()).toBe('hello')
  },
  DOWNLOAD_MISSING: async (c) => {
    await c.send('download nothing.txt\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
  },
  BAD_NAME: async (c) => {
    await c.send('download ../a.txt\n')
    expect(await c.line()).toBe('error invalid file name')
  },
  UNKNOWN: async (c) => {
    await c.send('fly\n')
    expect(await c.line()).toBe('This command does not exist, rewrite')
  },
  UPLOAD: async (c) => {
    await c.send('upload model.txt\n')
    expect(await c.line()).toBe('ok')
  },
  SIZE_OK: async (c) => {
    await c.send('4\n')
    expect(await c.line()).toBe('ok')
  },
  SIZE_INVALID: async (c) => {
    await c.send('four\n')
    expect(await c.line()).toBe('error invalid size')
  },
  SIZE_TOO_LARGE: async (c) => {
    await c.send('101\n')
    expect(await c.line()).toBe('error file too large (max 100 bytes)')
  },
  SEND_BYTES: async (c) => {
    await c.send('data')
    expect(await c.line()).toBe('end')
  },
  GET_FRESH: async (c) => {
    await c.send('get 0 - a.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `5 ${HELLO} 0`])
    expect((await c.bytes(5)).toString()).toBe('hello')
  },
  GET_RESUME: async (c) => {
    await c.send(`get 2 ${HELLO} a.txt\n`)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `5 ${HELLO} 2`])
    expect((await c.bytes(3)).toString()).toBe('llo')
  },
  GET_STALE: async (c) => {
    await c.send(`get 2 ${'0'.repeat(64)} a.txt\n`)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `5 ${HELLO} 0`])
    expect((await c.bytes(5)).toString()).toBe('hello')
  },
  GETS: async (c) => {
    await c.send('gets a.txt\tnothing.txt\t../a.txt\ta.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `5 ${HELLO} 0`])
    expect((await c.bytes(5)).toString()).toBe('hello')
    expect([await c.line(), await c.line(), await c.line(), await c.line()]).toEqual(['Not found file', 'error invalid file name', 'found', `5 ${HELLO} 0`])
    expect((await c.bytes(5)).toString()).toBe('hello')
  },
  STORES: async (c) => {
    // One entry stored, one refused for its name; the stores goes on until the empty line.
    await c.send(`stores\n4 ${DATA} many-1.txt\ndata4 ${DATA} ../x\ndata`)
    expect([await c.line(), await c.line()]).toEqual(['end', 'error invalid file name'])
  },
  STORES_END: async (c) => {
    await c.send(`4 ${DATA} many-2.txt\ndata\nshow\n`)
    expect(await c.line()).toBe('end')
    expect(names(await c.listing())).toEqual(expect.arrayContaining(['many-1.txt', 'many-2.txt']))
  },
  PUT: async (c) => {
    await c.send('put model-put.txt\n')
    expect(await c.line()).toBe('ok')
  },
  PUT_SIZE_OK: async (c) => {
    await c.send('4\n')
    expect(await c.line()).toBe('ok')
  },
  PUT_BYTES: async (c) => {
    await c.send('data')
  },
  CHECKSUM_OK: async (c) => {
    await c.send(`${createHash('sha256').update('data').digest('hex')}\n`)
    expect(await c.line()).toBe('end')
  },
  CHECKSUM_BAD: async (c) => {
    await c.send(`${'0'.repeat(64)}\n`)
    expect(await c.line()).toMatch(/^error checksum mismatch: /)
  },
  // A store's line goes first, its 4 bytes in the next step: the session waits for them in between.
  STORE_LINE: async (c) => {
    await c.send(`store 4 ${DATA} model-store.txt\n`)
  },
  STORE_BYTES_OK: async (c) => {
    await c.send('data')
    expect(await c.line()).toBe('end')
  },
  STORE_BYTES_BAD: async (c) => {
    await c.send('dat!')
    expect(await c.line()).toMatch(/^error checksum mismatch: /)
  },
  STORE_BAD_NAME: async (c) => {
    await c.send(`store 4 ${DATA} ../model-store.txt\n`)
  },
  STORE_DROPPED_BYTES: async (c) => {
    await c.send('show')
    expect(await c.line()).toBe('error invalid file name')
  },
  STORE_UNDELIMITED: async (c) => {
    await c.send('store four - x\n')
    expect(await c.line()).toMatch(/^error store needs <size> .*; closing$/)
    await c.closed()
  },
  FEATURES: async (c) => {
    await c.send('features\n')
    const lines: string[] = []
    for (let i = 0; i < 8; i++) lines.push(await c.line())
    expect(lines).toEqual(['ok', 'get', 'put', 'hashes', 'store', 'gets', 'stores', 'end'])
  },
  AUTH_OK: async (c) => {
    await c.send(`auth modeler ${token}\n`)
    expect(await c.line()).toBe('ok')
  },
  AUTH_FAIL: async (c) => {
    await c.send('auth modeler wrong\n')
    expect(await c.line()).toMatch(/^error (authentication failed|too many failed logins)$/)
  },
  EXIT: async (c) => {
    await c.send('exit\n')
    expect(await c.line()).toBe('exit')
    await c.closed()
  },
  // What a one-shot `tor client` command does once it has what it came for: the reply meets a closed socket.
  EXIT_AND_HANG_UP: async (c) => {
    await c.send('exit\n')
    c.destroy()
    await t.logs.waitFor(new RegExp(`client-${sessions} .* is offline`))
  },
  DISCONNECT: async (c) => {
    c.destroy()
    await t.logs.waitFor(new RegExp(`client-${sessions} .* is offline`))
  },
}

const paths = getShortestPaths(sessionModel)

describe('server sessions along every shortest path of the session model', () => {
  it('has a path to every model state', () => {
    expect(paths.map((p) => p.state.value).sort()).toEqual(Object.keys(sessionModel.root.states).sort())
  })

  for (const path of paths) {
    const events = path.steps.map((s) => s.event.type).filter((type) => type !== 'xstate.init')
    const description = events.join(' → ') || 'connecting'
    it(`${description} reaches ${String(path.state.value)}`, async () => {
      const client = await RawClient.connect(t.server.port)
      const id = `client-${++sessions}`
      await t.logs.waitFor(new RegExp(`${id} .* is online now`))
      const session = () => (t.server.actor.getSnapshot().context.clients.get(id)?.ref.getSnapshot() as { value?: unknown } | undefined)?.value
      for (const event of events) await steps[event]!(client)
      const modelState = String(path.state.value)
      const expected = modelState in serverState ? serverState[modelState] : 'awaitingCommand'
      const ref = t.server.actor.getSnapshot().context.clients.get(id)?.ref as AnyActorRef | undefined
      // The client may hold the last reply before the server has taken its own transition (a
      // download's final bytes arrive before sendFile settles): wait for it, event-driven.
      if (expected !== undefined && ref) await waitFor(ref, (s) => JSON.stringify(s.value) === JSON.stringify(expected))
      expect(session()).toEqual(expected)
      if (serverState[modelState] === 'awaitingCommand' || !(modelState in serverState)) {
        // The session goes on after every exchange.
        await steps.SHOW!(client)
      }
      client.destroy()
      await t.logs.waitFor(new RegExp(`${id} .* is offline`))
      // Whatever happened, the session leaves no temporary file behind (a dropped upload goes as its scope closes,
      // which may end just after the session does: waited for as the kernel reports the folder's changes).
      await waitForFolder(t.dir, (names) => !names.some((n) => n.startsWith('.tor-upload-')))
    })
  }
})
