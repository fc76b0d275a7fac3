import { describe, expect, it } from 'vitest'
import { initialTransition, transition, type AnyEventObject } from 'xstate'
import { NoSpace, StorageFailure } from '../../src/errors.js'
import { serverSessionMachine } from '../../src/machines/server-session.js'

const input = { clientId: 'client-1', limits: { maxUploadBytes: 1000, idleTimeoutMs: 300_000, stallTimeoutMs: 60_000, maxRefusals: 32, anonymous: ['read', 'upload', 'overwrite'] as const, loginDelayMs: 500, maxFailedLogins: 3 } }
const line = (text: string) => ({ _tag: 'Line' as const, text })
const done = (id: string, output: unknown): AnyEventObject => ({ type: `xstate.done.actor.${id}`, output })
const failed = (id: string, error: unknown): AnyEventObject => ({ type: `xstate.error.actor.${id}`, error })

/** The events of an upload command for a name that is free (statTarget finds nothing there). */
const uploadOf = (name: string): AnyEventObject[] => [done('readCommand', line(`upload ${name}`)), done('statTarget', { exists: false })]

type Step = ReturnType<typeof transition<typeof serverSessionMachine>>

/** Runs events through the pure transition function; returns the last snapshot and every reply sent. */
const run = (...events: AnyEventObject[]) => {
  let [snapshot, actions] = initialTransition(serverSessionMachine, input)
  const replies: string[] = []
  const collect = (acts: Step[1]) => {
    for (const action of acts) if (action.type === 'reply') replies.push(...(action.params as { lines: string[] }).lines)
  }
  collect(actions)
  for (const event of events) {
    ;[snapshot, actions] = transition(serverSessionMachine, snapshot, event as never)
    collect(actions)
  }
  return { snapshot, replies, actions }
}

/** Like run, and also collects every log entry the machine asks for. */
const runLogged = (...events: AnyEventObject[]) => {
  let [snapshot] = initialTransition(serverSessionMachine, input)
  const replies: string[] = []
  const logs: Array<{ kind: string; [k: string]: unknown }> = []
  for (const event of events) {
    const [next, actions] = transition(serverSessionMachine, snapshot, event as never)
    snapshot = next
    for (const action of actions) {
      if (action.type === 'reply') replies.push(...(action.params as { lines: string[] }).lines)
      if (action.type === 'log' && action.params) logs.push(action.params as { kind: string })
    }
  }
  return { snapshot, replies, logs }
}

describe('server session machine', () => {
  it('starts awaiting a command', () => {
    expect(run().snapshot.value).toBe('awaitingCommand')
  })

  it('streams the listing after show and goes back to awaiting a command when it is sent', () => {
    const listing = run(done('readCommand', line('show')))
    expect(listing.snapshot.value).toEqual({ streamingList: 'progressing' })
    expect(listing.snapshot.context.decision).toEqual({ next: 'list' })
    const after = run(done('readCommand', line('show')), done('listFiles', { count: 3 }))
    expect(after.snapshot.value).toBe('awaitingCommand')
  })

  it('keeps the search text for the listing actor', () => {
    expect(run(done('readCommand', line('search a b'))).snapshot.context.decision).toEqual({ next: 'list', search: 'a b' })
  })

  it('answers ok, found and the size for a file that exists, then transfers it', () => {
    const { snapshot, replies } = run(done('readCommand', line('download a.txt')), done('openDownload', { found: true, size: 42 }))
    expect(snapshot.value).toEqual({ transferring: { sendingFile: 'progressing' } })
    expect(snapshot.context.transfer).toEqual({ direction: 'download', name: 'a.txt', size: 42 })
    expect(replies).toEqual(['ok', 'found', '42'])
  })

  it('sends a small file read whole with its size line and awaits the next command at once, logging the transfer', () => {
    const sha = 'a'.repeat(64)
    let [snapshot] = initialTransition(serverSessionMachine, input)
    ;[snapshot] = transition(serverSessionMachine, snapshot, done('readCommand', line(`get 2 ${sha} a.txt`)) as never)
    const [after, actions] = transition(serverSessionMachine, snapshot, done('openDownload', { found: true, size: 5, sha256: sha, whole: true }) as never)
    expect(after.value).toBe('awaitingCommand')
    const named = actions.filter((a) => ['reply', 'sendWholeFile', 'log'].includes(a.type)).map((a) => [a.type, a.params])
    expect(named).toEqual([
      ['reply', { lines: ['ok', 'found', `5 ${sha} 2`] }],
      ['sendWholeFile', { offset: 2 }],
      ['log', { kind: 'transferred', transfer: { direction: 'download', name: 'a.txt', size: 5, sha256: sha, offset: 2 }, report: { bytes: 3, durationMs: 0 } }],
    ])
  })

  it('answers ok and Not found file for a missing file and goes on', () => {
    const { snapshot, replies } = run(done('readCommand', line('download nope')), done('openDownload', { found: false }))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['ok', 'Not found file'])
  })

  it.each(['download ../secret', 'upload .hidden', 'download a/b', 'upload x\u0001y'])(
    'refuses %j with error invalid file name instead of ok',
    (command) => {
      const { snapshot, replies } = run(done('readCommand', line(command)))
      expect(snapshot.value).toBe('awaitingCommand')
      expect(replies).toEqual(['error invalid file name'])
    },
  )

  it.each(['dance', 'search', 'download', 'show me', 'SHOW'])('answers %j with the unknown-command reply and goes on', (command) => {
    const { snapshot, replies } = run(done('readCommand', line(command)))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['This command does not exist, rewrite'])
  })

  it('answers a line that is too long with an error and goes on', () => {
    const { snapshot, replies } = run(
      done('readCommand', { _tag: 'Invalid', code: 'TOR_ERR_LINE_TOO_LONG', message: 'line too long (max 4096 bytes)' }),
    )
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['error line too long (max 4096 bytes)'])
  })

  it('asks for the size of an upload, then for the bytes', () => {
    const asked = run(...uploadOf('new.txt'))
    expect(asked.snapshot.value).toBe('receivingSize')
    expect(asked.replies).toEqual(['ok'])
    const preparing = run(...uploadOf('new.txt'), done('readUploadSize', line('10')))
    expect(preparing.snapshot.value).toBe('preparingUpload')
    const accepted = run(...uploadOf('new.txt'), done('readUploadSize', line('10')), done('prepareUpload', undefined))
    expect(accepted.snapshot.value).toEqual({ transferring: { receivingFile: 'progressing' } })
    expect(accepted.snapshot.context.transfer).toEqual({ direction: 'upload', name: 'new.txt', size: 10, replace: true })
    expect(accepted.replies).toEqual(['ok', 'ok'])
  })

  it.each([
    ['ten', 'error invalid size'],
    ['-1', 'error invalid size'],
    ['1001', 'error file too large (max 1000 bytes)'],
  ])('refuses the upload size %j and goes back to awaiting a command', (size, reply) => {
    const { snapshot, replies } = run(...uploadOf('new.txt'), done('readUploadSize', line(size)))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['ok', reply])
  })

  it('answers end once the upload is stored', () => {
    const { snapshot, replies } = run(
      ...uploadOf('n'),
      done('readUploadSize', line('1')),
      done('prepareUpload', undefined),
      done('receiveUpload', { bytes: 1, durationMs: 1 }),
    )
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies.at(-1)).toBe('end')
  })

  it('answers the public reason, never the logged one, when storing the upload fails, and goes on', () => {
    const { snapshot, replies, actions } = run(
      ...uploadOf('n'),
      done('readUploadSize', line('1')),
      done('prepareUpload', undefined),
      failed(
        'receiveUpload',
        new StorageFailure({
          operation: 'write n',
          cause: Object.assign(new Error("ENOSPC: no space left on device, write '/srv/tor/.tor-upload-x.part'"), { code: 'ENOSPC' }),
        }),
      ),
    )
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies.at(-1)).toBe('error no space left on the server')
    expect(actions.find((a) => a.type === 'log')?.params).toMatchObject({ kind: 'transferFailed', reason: expect.stringContaining('/srv/tor') })
  })

  it('answers an error before ok when the upload cannot be prepared, so no payload follows', () => {
    const { snapshot, replies } = run(
      ...uploadOf('n'),
      done('readUploadSize', line('1')),
      failed('prepareUpload', new NoSpace({ needed: 1, available: 0 })),
    )
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['ok', 'error not enough space on the server (1 bytes needed, 0 free)'])
  })

  it('ends the session when the client disconnects mid-upload', () => {
    const { snapshot } = run(
      ...uploadOf('n'),
      done('readUploadSize', line('100')),
      done('prepareUpload', undefined),
      failed('receiveUpload', { _tag: 'PeerClosed', message: 'connection closed during upload' }),
    )
    expect(snapshot.value).toBe('closed')
    expect(snapshot.status).toBe('done')
  })

  it('closes the connection when sending a file fails part-way', () => {
    const { snapshot } = run(
      done('readCommand', line('download a')),
      done('openDownload', { found: true, size: 5 }),
      failed('sendFile', new Error('EIO')),
    )
    expect(snapshot.value).toBe('closed')
  })

  it('says exit and closes the connection on exit', () => {
    const { snapshot, replies, actions } = run(done('readCommand', line('exit')))
    expect(snapshot.value).toBe('exit')
    expect(snapshot.status).toBe('done')
    expect(replies).toEqual(['exit'])
    expect(actions.map((a) => a.type)).toContain('closeConnection')
  })

  it('ends when the client goes away while it waits for a command', () => {
    expect(run(failed('readCommand', { _tag: 'PeerClosed' })).snapshot.value).toBe('closed')
  })

  it('is closed from any state by the operator, with an error line unless payload bytes are on the wire', () => {
    const waiting = run(...uploadOf('n'), { type: 'session.kick' })
    expect(waiting.snapshot.value).toBe('closed')
    expect(waiting.replies).toEqual(['ok', 'error disconnected by the server operator'])
    const sending = run(done('readCommand', line('download a')), done('openDownload', { found: true, size: 5 }), { type: 'session.kick' })
    expect(sending.snapshot.value).toBe('closed')
    expect(sending.replies).toEqual(['ok', 'found', '5'])
  })

  it('finishes the transfer in flight when the server drains, then closes instead of reading a command', () => {
    const draining = run(done('readCommand', line('download a')), done('openDownload', { found: true, size: 5 }), { type: 'session.drain' })
    expect(draining.snapshot.value).toEqual({ transferring: { sendingFile: 'progressing' } })
    const after = run(
      done('readCommand', line('download a')),
      done('openDownload', { found: true, size: 5 }),
      { type: 'session.drain' },
      done('sendFile', { bytes: 5, durationMs: 1 }),
    )
    expect(after.snapshot.value).toBe('closed')
    expect(after.replies.at(-1)).toBe('error server is shutting down')
  })

  it('closes an idle session after the idle timeout with one error line', () => {
    const { snapshot, replies } = run({ type: 'xstate.after.idleTimeout.serverSession.awaitingCommand' })
    expect(snapshot.value).toBe('closed')
    expect(replies).toEqual(['error idle timeout (300 s without a command), closing'])
  })

  it('ends a stalled upload with an error line, and restarts the stall timer on progress', () => {
    const upload = [...uploadOf('n'), done('readUploadSize', line('100')), done('prepareUpload', undefined)]
    const progressed = run(...upload, { type: 'io.progress', bytes: 40 })
    expect(progressed.snapshot.value).toEqual({ transferring: { receivingFile: 'progressing' } })
    expect(progressed.snapshot.context.transferred).toBe(40)
    const stalled = run(...upload, { type: 'xstate.after.stallTimeout.serverSession.transferring.receivingFile.progressing' })
    expect(stalled.snapshot.value).toBe('closed')
    expect(stalled.replies.at(-1)).toBe('error transfer stalled (no progress for 60 s), closing')
  })

  it('closes a client that sends nothing but refused lines, and logs only the first few', () => {
    const { snapshot, replies, logs } = runLogged(...Array.from({ length: 32 }, () => done('readCommand', line('junk'))))
    expect(snapshot.value).toBe('closed')
    expect(replies.at(-1)).toBe('error too many invalid commands in a row (32), closing')
    expect(logs.filter((l) => l.kind === 'refused')).toHaveLength(3)
    expect(logs).toContainEqual({ kind: 'refusalsSummarized', count: 29 })
  })

  it('decides each command line once and keeps the decision in context', () => {
    const { snapshot } = run(done('readCommand', line('download caf\u0065\u0301')))
    expect(snapshot.context.decision).toEqual({ next: 'download', name: 'caf\u00e9' })
  })

  it('forgets the previous command once back to awaiting a command', () => {
    const { snapshot } = run(
      done('readCommand', line('download a')),
      done('openDownload', { found: true, size: 5 }),
      done('sendFile', { bytes: 5, durationMs: 1 }),
    )
    expect(snapshot.value).toBe('awaitingCommand')
    expect(snapshot.context).toMatchObject({ decision: undefined, transfer: undefined, size: undefined })
  })
})

describe('server session machine regressions', () => {
  it('still knows the transfer when it logs a finished download (exit actions once cleared it first)', () => {
    const { actions } = run(
      done('readCommand', line('download a')),
      done('openDownload', { found: true, size: 5 }),
      done('sendFile', { bytes: 5, durationMs: 1 }),
    )
    const log = actions.find((a) => a.type === 'log')
    expect(log?.params).toEqual({
      kind: 'transferred',
      transfer: { direction: 'download', name: 'a', size: 5 },
      report: { bytes: 5, durationMs: 1 },
    })
  })
})

describe('server session machine: accounts and permissions', () => {
  const closed = { ...input, limits: { ...input.limits, anonymous: [] as const } }
  const runAs = (sessionInput: typeof input | typeof closed, ...events: AnyEventObject[]) => {
    let [snapshot] = initialTransition(serverSessionMachine, sessionInput as typeof input)
    const replies: string[] = []
    for (const event of events) {
      const [next, actions] = transition(serverSessionMachine, snapshot, event as never)
      snapshot = next
      for (const action of actions) if (action.type === 'reply') replies.push(...(action.params as { lines: string[] }).lines)
    }
    return { snapshot, replies }
  }
  const loginDelay = { type: 'xstate.after.loginDelay.serverSession.loginRefused' }

  it('asks an anonymous client to authenticate when anonymous access does not cover the command', () => {
    const { snapshot, replies } = runAs(closed, done('readCommand', line('show')), done('readCommand', line('download a')))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['error authentication required', 'error authentication required'])
  })

  it('logs in with auth, then allows what the account may do and denies the rest', () => {
    const { snapshot, replies } = runAs(
      closed,
      done('readCommand', line('auth bob s3cret')),
      done('verifyLogin', ['read']),
      done('readCommand', line('upload x')),
      done('readCommand', line('show')),
    )
    expect(replies).toEqual(['ok', 'error permission denied'])
    expect(snapshot.value).toEqual({ streamingList: 'progressing' })
    expect(snapshot.context).toMatchObject({ account: 'bob', permissions: ['read'] })
  })

  it('needs overwrite to upload to a name that exists, and upload for a new one', () => {
    const uploader = [done('readCommand', line('auth ann t')), done('verifyLogin', ['read', 'upload'])]
    const existing = runAs(closed, ...uploader, done('readCommand', line('upload a')), done('statTarget', { exists: true }))
    expect(existing.replies).toEqual(['ok', 'error permission denied'])
    const fresh = runAs(closed, ...uploader, done('readCommand', line('upload b')), done('statTarget', { exists: false }))
    expect(fresh.replies).toEqual(['ok', 'ok'])
    expect(fresh.snapshot.value).toBe('receivingSize')
  })

  it('answers a failed login after the login delay, and closes after three', () => {
    const fail = [done('readCommand', line('auth bob wrong')), done('verifyLogin', undefined)]
    const once = runAs(closed, ...fail)
    expect(once.snapshot.value).toBe('loginRefused')
    expect(once.replies).toEqual([])
    expect(runAs(closed, ...fail, loginDelay).replies).toEqual(['error authentication failed'])
    const thrice = runAs(closed, ...fail, loginDelay, ...fail, loginDelay, ...fail, loginDelay)
    expect(thrice.replies).toEqual(['error authentication failed', 'error authentication failed', 'error too many failed logins'])
    expect(thrice.snapshot.value).toBe('closed')
  })

  it('never keeps a token in what it logs of a refused auth line', () => {
    const { logs } = runLogged(done('readCommand', line('auth bob tok extra')))
    expect(logs).toEqual([{ kind: 'refused', command: 'auth bob <token>', reason: 'unknown command' }])
  })
})

describe('server session machine: store (a small file in one message) and features', () => {
  const sha = 'ab'.repeat(32)
  const store = (name: string, size = 5, hash = sha) => done('readCommand', line(`store ${size} ${hash} ${name}`))
  const stored = (ok: boolean, size = 5) => done('storeWhole', { bytes: size, durationMs: 1, sha256: ok ? sha : 'cd'.repeat(32), stored: ok })

  it('lists the protocol extensions after ok, then end', () => {
    const { snapshot, replies } = run(done('readCommand', line('features')))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['ok', 'get', 'put', 'hashes', 'store', 'gets', 'stores', 'end'])
  })

  it('takes a store with no reply before its bytes, then answers end once they are stored', () => {
    const taking = run(store('a.txt'))
    expect(taking.snapshot.value).toEqual({ storingWhole: 'progressing' })
    expect(taking.replies).toEqual([])
    expect(taking.snapshot.context.transfer).toMatchObject({ direction: 'upload', name: 'a.txt', size: 5, verified: true })
    const after = runLogged(store('a.txt'), stored(true))
    expect(after.snapshot.value).toBe('awaitingCommand')
    expect(after.replies).toEqual(['end'])
    expect(after.logs).toContainEqual(expect.objectContaining({ kind: 'transferred' }))
  })

  it('says checksum mismatch when a store’s bytes hash to something else', () => {
    const { snapshot, replies } = run(store('a.txt'), stored(false))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual([`error checksum mismatch: the bytes received hash to ${'cd'.repeat(32)}, not ${sha}; nothing was stored`])
  })

  it('drops the bytes of a store it refuses before answering, so they never read as commands', () => {
    const refused = runLogged(store('../x', 7))
    expect(refused.snapshot.value).toEqual({ droppingPayload: 'progressing' })
    expect(refused.replies).toEqual([])
    const dropped = run(store('../x', 7), done('dropPayload', undefined))
    expect(dropped.snapshot.value).toBe('awaitingCommand')
    expect(dropped.replies).toEqual(['error invalid file name'])
  })

  it('drops the bytes of a store too large for the server, then says so', () => {
    const { snapshot, replies } = run(store('big.bin', 5000), done('dropPayload', undefined))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(replies).toEqual(['error file too large (max 1000 bytes)'])
  })

  it('closes after a store line whose bytes cannot be delimited', () => {
    const { snapshot, replies } = run(done('readCommand', line('store lots - x')))
    expect(snapshot.status).toBe('done')
    expect(replies).toEqual([expect.stringMatching(/^error store needs <size> .*; closing$/)])
  })

  it('drops a store’s bytes when the account may not replace the file it names', () => {
    const closed = { ...input, limits: { ...input.limits, anonymous: ['read', 'upload'] as const } }
    let [snapshot] = initialTransition(serverSessionMachine, closed as unknown as typeof input)
    const replies: string[] = []
    for (const event of [store('a.txt'), done('statTarget', { exists: true }), done('dropPayload', undefined)]) {
      const [next, actions] = transition(serverSessionMachine, snapshot, event as never)
      snapshot = next
      for (const action of actions) if (action.type === 'reply') replies.push(...(action.params as { lines: string[] }).lines)
    }
    expect(replies).toEqual(['error permission denied'])
    expect(snapshot.value).toBe('awaitingCommand')
  })
})

describe('server session machine: gets (whole verified downloads of several files in one command)', () => {
  it('decides every name once: normalized, or the refusal sent in its place', () => {
    const { snapshot, replies } = run(done('readCommand', line('gets a.txt\t../x\tcafe\u0301.txt')))
    expect(snapshot.value).toEqual({ sendingMany: 'progressing' })
    expect(replies).toEqual(['ok'])
    expect(snapshot.context.decision).toEqual({
      next: 'downloadMany',
      files: [{ name: 'a.txt' }, { name: '../x', refused: { reply: 'error invalid file name', reason: 'invalid file name (starts with \".\")' } }, { name: 'caf\u00e9.txt' }],
    })
  })

  it('awaits the next command once every file is answered, logging what was sent and what was not', () => {
    const { snapshot, logs } = runLogged(done('readCommand', line('gets a\tb')), done('sendMany', { sent: 1, bytes: 5, durationMs: 1, missing: ['b'] }))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(logs).toContainEqual({ kind: 'sentMany', asked: 2, report: { sent: 1, bytes: 5, durationMs: 1, missing: ['b'] } })
  })

  it('closes when sending fails, since part of a file may be on the wire', () => {
    const { snapshot, replies } = run(done('readCommand', line('gets a')), failed('sendMany', new StorageFailure({ operation: 'read', cause: new Error('EIO') })))
    expect(snapshot.value).toBe('closed')
    expect(replies).toEqual(['ok'])
  })

  it('is kicked without an error line, which could land inside a file', () => {
    const { snapshot, replies } = run(done('readCommand', line('gets a')), { type: 'session.kick' })
    expect(snapshot.value).toBe('closed')
    expect(replies).toEqual(['ok'])
  })

  it('ends a client that stops reading after stallTimeout, without a line', () => {
    const { snapshot, replies } = run(done('readCommand', line('gets a')), { type: 'xstate.after.stallTimeout.serverSession.sendingMany.progressing' })
    expect(snapshot.value).toBe('closed')
    expect(replies).toEqual(['ok'])
  })

  it('needs read permission as a whole, like get', () => {
    let [snapshot] = initialTransition(serverSessionMachine, { ...input, limits: { ...input.limits, anonymous: [] as never } })
    const [after, actions] = transition(serverSessionMachine, snapshot, done('readCommand', line('gets a\tb')) as never)
    snapshot = after
    expect(snapshot.value).toBe('awaitingCommand')
    expect(actions.filter((a) => a.type === 'reply').flatMap((a) => (a.params as { lines: string[] }).lines)).toEqual(['error authentication required'])
  })
})

describe('server session machine: stores (several small files in one command)', () => {
  const report = { stored: 2, bytes: 10, durationMs: 1, refused: ['../x'] }

  it('takes the entries in one state, with no reply of its own, and awaits the next command after the empty line', () => {
    const taking = run(done('readCommand', line('stores')))
    expect(taking.snapshot.value).toEqual({ storingMany: 'progressing' })
    expect(taking.replies).toEqual([])
    const { snapshot, logs } = runLogged(done('readCommand', line('stores')), done('storeMany', report))
    expect(snapshot.value).toBe('awaitingCommand')
    expect(logs).toContainEqual({ kind: 'storedMany', report })
  })

  it('ends the session after an entry that could not be delimited (the actor answered it)', () => {
    const { snapshot, logs } = runLogged(done('readCommand', line('stores')), done('storeMany', { ...report, closing: 'store needs <size> ...' }))
    expect(snapshot.value).toBe('closed')
    expect(logs).toContainEqual({ kind: 'closing', reason: 'store needs <size> ...' })
  })

  it('gives the actor the refusal of a session that may not upload, so each entry is dropped and answered with it', () => {
    let [snapshot] = initialTransition(serverSessionMachine, { ...input, limits: { ...input.limits, anonymous: ['read'] as never } })
    ;[snapshot] = transition(serverSessionMachine, snapshot, done('readCommand', line('stores')) as never)
    expect(snapshot.value).toEqual({ storingMany: 'progressing' })
    expect(snapshot.context.decision).toEqual({ next: 'uploadMany', refused: { reply: 'error authentication required', reason: 'authentication required' } })
  })

  it('closes when the client goes away mid-entry, and with an error line when storing failed past recovery', () => {
    expect(run(done('readCommand', line('stores')), failed('storeMany', { _tag: 'PeerClosed' })).replies).toEqual([])
    const broken = run(done('readCommand', line('stores')), failed('storeMany', new StorageFailure({ operation: 'write', cause: new Error('EIO') })))
    expect(broken.snapshot.value).toBe('closed')
    expect(broken.replies).toEqual(['error storage error on the server'])
  })

  it('ends a stores whose entries stop coming after stallTimeout, with one error line', () => {
    const { snapshot, replies } = run(done('readCommand', line('stores')), { type: 'xstate.after.stallTimeout.serverSession.storingMany.progressing' })
    expect(snapshot.value).toBe('closed')
    expect(replies).toEqual(['error transfer stalled (no progress for 60 s), closing'])
  })
})
