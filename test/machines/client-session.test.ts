import { describe, expect, it } from 'vitest'
import { initialTransition, transition, type AnyEventObject } from 'xstate'
import { clientSessionMachine } from '../../src/machines/client-session.js'
import type { Command } from '../../src/protocol/index.js'

const line = (text: string) => ({ _tag: 'Line' as const, text })
const done = (id: string, output: unknown): AnyEventObject => ({ type: `xstate.done.actor.${id}`, output })
const failed = (id: string, error: unknown): AnyEventObject => ({ type: `xstate.error.actor.${id}`, error })
const user = (command: Command): AnyEventObject => ({ type: 'user.command', command })

const run = (...events: AnyEventObject[]) => {
  let [snapshot, actions] = initialTransition(clientSessionMachine)
  const sent: string[] = []
  for (const event of events) {
    ;[snapshot, actions] = transition(clientSessionMachine, snapshot, event as never)
    for (const action of actions) if (action.type === 'send') sent.push((action.params as { line: string }).line)
  }
  return { snapshot, sent }
}

describe('client session machine', () => {
  it('sends show and receives the listing after ok', () => {
    const entries = [{ name: 'a', size: 1, mtimeMs: 0 }]
    const waiting = run(user({ verb: 'show' }))
    expect(waiting.snapshot.value).toBe('awaitingReply')
    expect(waiting.sent).toEqual(['show'])
    const listing = run(user({ verb: 'show' }), done('readReply', line('ok')))
    expect(listing.snapshot.value).toBe('receivingListing')
    const finished = run(user({ verb: 'show' }), done('readReply', line('ok')), done('readListing', entries))
    expect(finished.snapshot.value).toBe('ready')
    expect(finished.snapshot.context.outcome).toEqual({ ok: true, kind: 'listing', entries })
  })

  it('hangs up from ready: says exit and closes at once, with no reply to wait for', () => {
    let [snapshot, actions] = initialTransition(clientSessionMachine)
    ;[snapshot, actions] = transition(clientSessionMachine, snapshot, { type: 'user.hangUp' })
    expect(snapshot.status).toBe('done')
    expect(snapshot.value).toBe('hungUp')
    expect(actions.map((a) => a.type)).toEqual(['send', 'closeConnection'])
    expect(actions[0]!.params).toEqual({ line: 'exit' })
    expect(snapshot.context.outcome).toEqual({ ok: true, kind: 'exited' })
  })

  it('does not hang up in the middle of a command (the reply it waits for is still to come)', () => {
    const { snapshot } = run(user({ verb: 'show' }), { type: 'user.hangUp' })
    expect(snapshot.value).toBe('awaitingReply')
  })

  const H = 'ab'.repeat(32)
  const G = 'cd'.repeat(32)

  it('asks for a download with get, reads found and size, hash and first byte, then downloads from 0', () => {
    const { snapshot, sent } = run(
      user({ verb: 'download', name: 'a b' }),
      done('findPartial', undefined),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line(`12 ${H} 0`)),
    )
    expect(sent).toEqual(['get 0 - a b'])
    expect(snapshot.value).toEqual({ transferring: 'downloading' })
    expect(snapshot.context.size).toBe(12)
    expect(snapshot.context.verified).toEqual({ size: 12, sha256: H, from: 0 })
  })

  it('asks to resume at the end of a kept part, and hashes that part before downloading the rest', () => {
    const { snapshot, sent } = run(
      user({ verb: 'download', name: 'big' }),
      done('findPartial', { offset: 5, expected: H }),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line(`12 ${H} 5`)),
    )
    expect(sent).toEqual([`get 5 ${H} big`])
    expect(snapshot.value).toEqual({ transferring: 'resuming' })
    const after = transition(clientSessionMachine, snapshot, done('resumePartial', undefined) as never)[0]
    expect(after.value).toEqual({ transferring: 'downloading' })
    const finished = transition(clientSessionMachine, after, done('receiveFile', { bytes: 7, durationMs: 1 }) as never)[0]
    expect(finished.context.outcome).toMatchObject({ ok: true, bytes: 7, verified: { sha256: H, from: 5, restarted: false } })
  })

  it('says the download started over when the server’s file is no longer the one the kept part belongs to', () => {
    const { snapshot } = run(
      user({ verb: 'download', name: 'big' }),
      done('findPartial', { offset: 5, expected: G }),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line(`12 ${H} 0`)),
      done('receiveFile', { bytes: 12, durationMs: 1 }),
    )
    expect(snapshot.context.outcome).toMatchObject({ ok: true, bytes: 12, verified: { sha256: H, from: 0, restarted: true } })
  })

  it('falls back to download on a server that does not know get, and remembers it for the connection', () => {
    const first = run(
      user({ verb: 'download', name: 'x' }),
      done('findPartial', undefined),
      done('readReply', line('This command does not exist, rewrite')),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line('12')),
    )
    expect(first.sent).toEqual(['get 0 - x', 'download x'])
    expect(first.snapshot.value).toEqual({ transferring: 'downloading' })
    expect(first.snapshot.context.verified).toBeUndefined()
    let snapshot = transition(clientSessionMachine, first.snapshot, done('receiveFile', { bytes: 12, durationMs: 1 }) as never)[0]
    const sent: string[] = []
    for (const event of [user({ verb: 'download', name: 'y' }), done('findPartial', undefined)]) {
      const [next, actions] = transition(clientSessionMachine, snapshot, event as never)
      snapshot = next
      for (const action of actions) if (action.type === 'send') sent.push((action.params as { line: string }).line)
    }
    expect(sent).toEqual(['download y'])
  })

  it('closes on a get size line it cannot read: the payload cannot be delimited', () => {
    const { snapshot } = run(
      user({ verb: 'download', name: 'x' }),
      done('findPartial', undefined),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line('12')),
    )
    expect(snapshot.value).toBe('closed')
  })

  it('stays connected after a checksum mismatch: every byte arrived, they were wrong', () => {
    const { snapshot } = run(
      user({ verb: 'download', name: 'x' }),
      done('findPartial', undefined),
      done('readReply', line('ok')),
      done('readFound', line('found')),
      done('readSize', line(`12 ${H} 0`)),
      failed('receiveFile', { _tag: 'ChecksumMismatch', code: 'TOR_ERR_CHECKSUM', message: 'checksum mismatch' }),
    )
    expect(snapshot.value).toBe('ready')
  })

  it('reports Not found file and is ready for the next command', () => {
    const { snapshot } = run(user({ verb: 'download', name: 'x' }), done('findPartial', undefined), done('readReply', line('ok')), done('readFound', line('Not found file')))
    expect(snapshot.value).toBe('ready')
    expect(snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_NOT_FOUND', message: 'Not found file: x' } })
  })

  it('reports an error reply instead of ok', () => {
    const { snapshot } = run(user({ verb: 'download', name: 'x' }), done('findPartial', undefined), done('readReply', line('error invalid file name')))
    expect(snapshot.value).toBe('ready')
    expect(snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_REFUSED', message: 'invalid file name' } })
  })

  it('states the local file size before sending an upload, then sends the bytes after ok', () => {
    const { snapshot, sent } = run(
      user({ verb: 'upload', name: 'n' }),
      done('statUpload', { size: 7, key: 'k'.repeat(64) }),
      done('readReply', line('ok')),
      done('readSizeAck', line('ok')),
    )
    expect(sent).toEqual(['put n', `7 ${'k'.repeat(64)}`])
    expect(snapshot.value).toEqual({ transferring: { uploading: 'sendingBytes' } })
    const [sentBytes, actions] = transition(clientSessionMachine, snapshot, done('sendFile', { bytes: 7, durationMs: 1, sha256: 'ab'.repeat(32) }) as never)
    expect(actions.filter((a) => a.type === 'send').map((a) => (a.params as { line: string }).line)).toEqual(['ab'.repeat(32)])
    expect(sentBytes.value).toEqual({ transferring: { uploading: 'awaitingStored' } })
  })

  it('uploads with upload, without a checksum line, on a server that does not know put', () => {
    const { snapshot, sent } = run(
      user({ verb: 'upload', name: 'n' }),
      done('statUpload', { size: 7, key: 'k'.repeat(64) }),
      done('readReply', line('This command does not exist, rewrite')),
      done('readReply', line('ok')),
      done('readSizeAck', line('ok')),
      done('sendFile', { bytes: 7, durationMs: 1 }),
    )
    expect(sent).toEqual(['put n', 'upload n', '7'])
    expect(snapshot.value).toEqual({ transferring: { uploading: 'awaitingStored' } })
  })

  it('does not contact the server when the file to upload is missing', () => {
    const { snapshot, sent } = run(user({ verb: 'upload', name: 'n' }), failed('statUpload', { code: 'TOR_ERR_NOT_FOUND', message: 'Not found file: n' }))
    expect(sent).toEqual([])
    expect(snapshot.value).toBe('ready')
  })

  it('reports the upload done only when the server says end', () => {
    const base = [
      user({ verb: 'upload', name: 'n' }),
      done('statUpload', 1),
      done('readReply', line('ok')),
      done('readSizeAck', line('ok')),
      done('sendFile', { bytes: 1, durationMs: 1 }),
    ]
    expect(run(...base).snapshot.value).toEqual({ transferring: { uploading: 'awaitingStored' } })
    const stored = run(...base, done('readStored', line('end')))
    expect(stored.snapshot.value).toBe('ready')
    expect(stored.snapshot.context.outcome).toMatchObject({ ok: true, direction: 'upload', name: 'n' })
    const refused = run(...base, done('readStored', line('error disk full')))
    expect(refused.snapshot.context.outcome).toMatchObject({ ok: false, error: { message: 'disk full' } })
  })

  it('waits only for end after a store the runtime sent ahead, and reports the file uploaded and verified', () => {
    const stored = { type: 'user.command', command: { verb: 'upload', name: 'a' }, sentAhead: { stored: { size: 5, sha256: H } } }
    const waiting = run(stored)
    expect(waiting.snapshot.value).toEqual({ transferring: { uploading: 'awaitingStored' } })
    expect(waiting.sent).toEqual([])
    const ok = run(stored, done('readStored', line('end')))
    expect(ok.snapshot.value).toBe('ready')
    expect(ok.snapshot.context.outcome).toMatchObject({ ok: true, kind: 'transferred', direction: 'upload', name: 'a', bytes: 5, verified: { sha256: H } })
    const refused = run(stored, done('readStored', line('error permission denied')))
    expect(refused.snapshot.value).toBe('ready')
    expect(refused.snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_REFUSED' } })
  })

  it('reads the features a server lists, and none from a server that does not know the command', () => {
    const listed = run(user({ verb: 'features' }), done('readReply', line('ok')), done('readFeatures', ['get', 'store']))
    expect(listed.sent).toEqual(['features'])
    expect(listed.snapshot.context.outcome).toEqual({ ok: true, kind: 'features', features: ['get', 'store'] })
    const seed = run(user({ verb: 'features' }), done('readReply', line('This command does not exist, rewrite')))
    expect(seed.snapshot.value).toBe('ready')
    expect(seed.snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_REFUSED' } })
  })

  it('ends after the server says exit', () => {
    const { snapshot } = run(user({ verb: 'exit' }), done('readReply', line('exit')))
    expect(snapshot.value).toBe('exit')
    expect(snapshot.status).toBe('done')
  })

  it('ends when the server closes the connection', () => {
    const { snapshot } = run(user({ verb: 'show' }), failed('readReply', { code: 'TOR_ERR_PEER_CLOSED', message: 'connection closed' }))
    expect(snapshot.value).toBe('closed')
    expect(snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_PEER_CLOSED' } })
  })

  it('ends with the server\'s last words when the server closes the connection while it is idle', () => {
    const { snapshot } = run({ type: 'connection.ended', reason: 'idle timeout (300 s without a command), closing' })
    expect(snapshot.value).toBe('closed')
    expect(snapshot.context.outcome).toMatchObject({ ok: false, error: { code: 'TOR_ERR_PEER_CLOSED', said: 'idle timeout (300 s without a command), closing' } })
  })
})

describe('client session machine: gets', () => {
  const gets = user({ verb: 'gets', names: ['a', 'b c'] })

  it('sends the names in one line and reads the files outside the machine after ok, keeping each outcome', () => {
    const files = [
      { ok: true, kind: 'transferred', direction: 'download', name: 'a', bytes: 1, durationMs: 0, verified: { sha256: 'ab'.repeat(32), from: 0, restarted: false } },
      { ok: false, name: 'b c', error: { _tag: 'FileNotFound' } },
    ]
    const reading = run(gets, done('readReply', line('ok')))
    expect(reading.sent).toEqual(['gets a\tb c'])
    expect(reading.snapshot.value).toBe('receivingMany')
    const finished = run(gets, done('readReply', line('ok')), done('receiveMany', files))
    expect(finished.snapshot.value).toBe('ready')
    expect(finished.snapshot.context.outcome).toEqual({ ok: true, kind: 'receivedMany', files })
  })

  it('is refused as a whole by an error line instead of ok, and the connection stays usable', () => {
    const { snapshot } = run(gets, done('readReply', line('error authentication required')))
    expect(snapshot.value).toBe('ready')
    expect(snapshot.context.outcome).toMatchObject({ ok: false, error: { _tag: 'ServerRefused' } })
  })

  it('closes when the files cannot be followed (connection lost, bad size line)', () => {
    const { snapshot } = run(gets, done('readReply', line('ok')), failed('receiveMany', { _tag: 'PeerClosed', code: 'TOR_ERR_PEER_CLOSED' }))
    expect(snapshot.value).toBe('closed')
    expect(snapshot.status).toBe('done')
  })
})
