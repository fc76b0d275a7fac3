import { createHash, randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ParallelHash } from '../../src/actors/parallel-hash.js'
import { StagedPayload } from '../../src/actors/staged-payload.js'
import { UPLOAD_BUFFERS_EACH } from '../../src/storage/chunks.js'

/** A sink that holds every write until the test lets it go (a slow disk). */
const heldSink = () => {
  const held: Array<{ bytes: Buffer; done: () => void }> = []
  const written: Buffer[] = []
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      held.push({ bytes: chunk, done: () => (written.push(Buffer.from(chunk)), callback()) })
    },
  })
  return { sink, held, written }
}

/** Reads `bytes` into the payload the way a socket read into its buffers would: as much as each read buffer takes. */
const readInto = (payload: StagedPayload, bytes: Buffer, from = 0): number => {
  let at = from
  while (at < bytes.length && !payload.waiting && !payload.read) {
    const target = payload.readBuffer()
    const n = Math.min(target.length, bytes.length - at)
    bytes.copy(target, 0, at, at + n)
    payload.onRead(n)
    at += n
  }
  return at
}

describe('a staged upload payload', () => {
  it('asks the reader to stop while the sink holds all but one of its stages, and to go on once the sink takes one', async () => {
    const bytes = randomBytes(32 << 20)
    const { sink, held, written } = heldSink()
    let resumed = 0
    let settled: unknown = 'not yet'
    const payload = new StagedPayload(bytes.length, sink, undefined, { resume: () => resumed++, settle: (error) => (settled = error) })
    let at = readInto(payload, bytes)
    expect(payload.waiting).toBe(true)
    // Nothing more is read than the stages handed to the sink (1 MiB each while one upload runs): the rest waits in the kernel.
    expect(at).toBe((UPLOAD_BUFFERS_EACH - 1) << 20)
    expect(held.length).toBe(1) // a Writable takes one write at a time and queues the others
    held.shift()!.done()
    await new Promise((resolve) => setImmediate(resolve))
    expect(resumed).toBe(1)
    expect(payload.waiting).toBe(false)
    while (!payload.read) {
      at = readInto(payload, bytes, at)
      while (held.length > 0) held.shift()!.done()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBeUndefined()
    expect(Buffer.concat(written).equals(bytes)).toBe(true)
  })

  it('hashes every stage after the sink is done with it, in order, like sha256sum', async () => {
    const bytes = randomBytes((5 << 20) + 12345)
    const { sink, held } = heldSink()
    const hash = new ParallelHash()
    let settled: unknown = 'not yet'
    const payload = new StagedPayload(bytes.length, sink, hash, { resume: () => undefined, settle: (error) => (settled = error) })
    // The first bytes came with the command line: copied in, the rest read into the stages.
    const early = payload.copy(bytes.subarray(0, 1000))
    expect(early).toBe(1000)
    let at = early
    while (!payload.read || held.length > 0) {
      at = readInto(payload, bytes, at)
      while (held.length > 0) held.shift()!.done()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBeUndefined()
    expect(await hash.digest()).toBe(createHash('sha256').update(bytes).digest('hex'))
  })

  it('reads a payload whose sink failed to its end, drops it, and settles with the sink’s error', async () => {
    const bytes = randomBytes(6 << 20)
    const failure = new Error('no space left')
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback(failure) })
    sink.on('error', () => undefined)
    let settled: unknown = 'not yet'
    const payload = new StagedPayload(bytes.length, sink, undefined, { resume: () => undefined, settle: (error) => (settled = error) })
    let at = 0
    while (!payload.read) {
      at = readInto(payload, bytes, at)
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setImmediate(resolve))
    expect(at).toBe(bytes.length)
    expect(settled).toBe(failure)
  })

  it('copies only the bytes that belong to it and leaves the next command’s', () => {
    const { sink } = heldSink()
    const payload = new StagedPayload(5, sink, undefined, { resume: () => undefined, settle: () => undefined })
    expect(payload.copy(Buffer.from('hello\nexit\n'))).toBe(5)
    expect(payload.read).toBe(true)
  })
})
