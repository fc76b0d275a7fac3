import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import * as Context from 'effect/Context'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Layer from 'effect/Layer'
import * as Scope from 'effect/Scope'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runForActor } from '../../src/actors/run-effect.js'
import type { StorageFailure } from '../../src/errors.js'
import { readWhole } from '../../src/storage/read-whole.js'
import { Storage, type OpenedFile, type StorageService } from '../../src/storage/storage.js'

/** One store to run the contract against: its Layer, and a way to change it behind the service's back. */
export interface StoreUnderTest {
  readonly layer: Layer.Layer<Storage, StorageFailure>
  /** Stores bytes under a raw name (key, file name) the way someone else would: another server, a person. */
  readonly putBehind: (rawName: string, bytes: Buffer) => Promise<void>
  readonly teardown: () => Promise<void>
}

export interface ContractOptions {
  /** Whether the store can refuse a commit atomically when the name was taken meanwhile. */
  readonly conditionalCreate: boolean
  /** Whether a read in flight keeps the version it started with when the name is replaced. */
  readonly stableReads: boolean
}

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, scope: Scope.CloseableScope) => Effect.runPromise(Scope.extend(effect, scope))

/** Writes `bytes` to a sink the way the connection does: respecting backpressure, without ending it. */
export const writeAll = async (sink: Writable, bytes: Buffer, chunk = 256 << 10) => {
  for (let at = 0; at < bytes.length; at += chunk) {
    if (!sink.write(bytes.subarray(at, at + chunk))) await new Promise((resolve) => sink.once('drain', resolve))
  }
}

/** The bytes of an opened file from `offset` on, read the way a download reads them. */
export const readAll = async (file: OpenedFile, offset = 0): Promise<Buffer> => {
  if (file.kind === 'descriptor') return readFileSync(`/proc/self/fd/${file.fd}`).subarray(offset, file.size)
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const stream: Readable = yield* file.open(offset)
        return yield* Effect.promise(async () => {
          const parts: Buffer[] = []
          for await (const part of stream) parts.push(part as Buffer)
          return Buffer.concat(parts)
        })
      }),
    ),
  )
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** The storage contract (src/storage/storage.ts), run against one store. */
export const storageContract = (label: string, makeStore: () => Promise<StoreUnderTest>, options: ContractOptions) =>
  describe(`the ${label} storage`, () => {
    let store: StoreUnderTest
    let scope: Scope.CloseableScope
    let storage: StorageService

    beforeEach(async () => {
      store = await makeStore()
      scope = Effect.runSync(Scope.make())
      storage = Context.get(await run(Layer.build(store.layer), scope), Storage)
    })
    afterEach(async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await store.teardown()
    })

    const names = async (search?: string) => (await runForActor(storage.list(search))).map((entry) => entry.name)

    /** Uploads `bytes` under `name` and commits, in a scope of its own. */
    const upload = (name: string, bytes: Buffer, replace = true) =>
      runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const target = yield* storage.createUpload(name, bytes.length, { replace })
            yield* Effect.promise(() => writeAll(target.sink, bytes))
            yield* target.commit()
          }),
        ),
      )

    const download = (name: string) =>
      runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* storage.openForReading(name)
            const bytes = yield* Effect.promise(() => readAll(file))
            return { size: file.size, bytes }
          }),
        ),
      )

    /** Waits until a listing shows what someone else changed: at most `staleness` plus the time to notice. */
    const eventually = (check: () => Promise<void>) => vi.waitFor(check, { timeout: storage.staleness + 5000, interval: 20 })

    it('lists what was stored behind its back, sorted by code point, with sizes, and searches by substring', async () => {
      await store.putBehind('b.txt', Buffer.from('bb'))
      await store.putBehind('a.txt', Buffer.from('a'))
      await store.putBehind('Z.pdf', Buffer.from('zzz'))
      await store.putBehind('é.txt', Buffer.from(''))
      await eventually(async () => expect(await names()).toEqual(['Z.pdf', 'a.txt', 'b.txt', 'é.txt']))
      const listing = await runForActor(storage.list())
      expect(listing.map((e) => e.size)).toEqual([3, 1, 2, 0])
      expect(await names('.txt')).toEqual(['a.txt', 'b.txt', 'é.txt'])
      expect(await names('nothing')).toEqual([])
    })

    it('never lists or opens what is stored under a name that is not valid', async () => {
      await store.putBehind('.hidden', Buffer.from('secret'))
      await store.putBehind('esc\x1b[2Jape', Buffer.from('x'))
      await store.putBehind('e\u0301.txt', Buffer.from('not NFC'))
      await store.putBehind('ok.txt', Buffer.from('ok'))
      await eventually(async () => expect(await names()).toEqual(['ok.txt']))
      for (const name of ['.hidden', 'esc\x1b[2Jape', 'e\u0301.txt', '../ok.txt', 'x/../ok.txt']) {
        await expect(download(name)).rejects.toMatchObject({ _tag: 'FileNotFound' })
      }
    })

    it('opens a stored file with its exact size and bytes, and says FileNotFound for a missing one', async () => {
      const bytes = randomBytes(100_000)
      await store.putBehind('data.bin', bytes)
      await eventually(async () => expect(await names()).toContain('data.bin'))
      const got = await download('data.bin')
      expect(got.size).toBe(bytes.length)
      expect(sha(got.bytes)).toBe(sha(bytes))
      await expect(download('missing.bin')).rejects.toMatchObject({ _tag: 'FileNotFound' })
    })

    it('shows an upload only once it is committed, then in the very next listing, byte for byte', async () => {
      const bytes = randomBytes(20 << 20) // more than one multipart part
      await runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const target = yield* storage.createUpload('big.bin', bytes.length, { replace: true })
            yield* Effect.promise(() => writeAll(target.sink, bytes))
            expect(yield* storage.nameTaken('big.bin')).toBe(false)
            expect(yield* Effect.promise(() => names())).not.toContain('big.bin')
            yield* target.commit()
          }),
        ),
      )
      expect(await runForActor(storage.list())).toMatchObject([{ name: 'big.bin', size: bytes.length }])
      expect(await runForActor(storage.nameTaken('big.bin'))).toBe(true)
      expect(sha((await download('big.bin')).bytes)).toBe(sha(bytes))
    })

    it('is done with a written chunk once its write callback has run: one buffer refilled after each callback stores every chunk', async () => {
      const bytes = randomBytes(12 << 20) // several multipart parts on S3, a streamed file elsewhere
      const chunk = Buffer.allocUnsafe(1 << 20)
      await runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const target = yield* storage.createUpload('refilled.bin', bytes.length, { replace: true })
            for (let at = 0; at < bytes.length; at += chunk.length) {
              bytes.copy(chunk, 0, at, at + chunk.length)
              yield* Effect.promise(() => new Promise<void>((resolve, reject) => target.sink.write(chunk, (error) => (error ? reject(error) : resolve()))))
            }
            yield* target.commit()
          }),
        ),
      )
      expect(sha((await download('refilled.bin')).bytes)).toBe(sha(bytes))
    })

    it('keeps nothing of an upload whose scope closes without a commit', async () => {
      await runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const target = yield* storage.createUpload('gone.bin', 30 << 20, { replace: true })
            yield* Effect.promise(() => writeAll(target.sink, randomBytes(12 << 20)))
          }),
        ),
      )
      expect(await names()).toEqual([])
      expect(await runForActor(storage.nameTaken('gone.bin'))).toBe(false)
      await expect(download('gone.bin')).rejects.toMatchObject({ _tag: 'FileNotFound' })
    })

    it.each([
      ['a whole upload (its bytes at once)', true],
      ['a streamed upload', false],
    ])('stores %s only at its commit, and never one with fewer bytes than announced', async (_, whole) => {
      const bytes = randomBytes(20_000)
      const wholeUpload = (name: string, announced: number, sent: Buffer, commit: boolean) =>
        runForActor(
          Effect.scoped(
            Effect.gen(function* () {
              const target = yield* storage.createUpload(name, announced, { replace: true, whole })
              yield* Effect.promise(() => writeAll(target.sink, sent))
              expect(yield* storage.nameTaken(name)).toBe(false)
              if (commit) yield* target.commit()
            }),
          ),
        )
      await wholeUpload('kept.bin', bytes.length, bytes, true)
      expect((await download('kept.bin')).bytes.equals(bytes)).toBe(true)
      await wholeUpload('dropped.bin', bytes.length, bytes, false)
      await expect(wholeUpload('short.bin', bytes.length, bytes.subarray(1), true)).rejects.toMatchObject({ _tag: 'StorageFailure' })
      await wholeUpload('empty.bin', 0, Buffer.alloc(0), true)
      expect(await names()).toEqual(['empty.bin', 'kept.bin'])
    })

    it('replaces a file when asked to, and an empty upload stores an empty file', async () => {
      await upload('same.txt', Buffer.from('first version'))
      await upload('same.txt', Buffer.from('second'))
      expect((await download('same.txt')).bytes.toString()).toBe('second')
      await upload('empty.txt', Buffer.alloc(0))
      expect(await runForActor(storage.list())).toMatchObject([
        { name: 'empty.txt', size: 0 },
        { name: 'same.txt', size: 6 },
      ])
    })

    it('knows the SHA-256 of the version it opened, and reads it from any offset', async () => {
      const bytes = randomBytes(3 << 20)
      await upload('h.bin', bytes)
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* storage.openForReading('h.bin')
            expect(yield* storage.sha256(file)).toBe(sha(bytes))
            for (const offset of [0, 1, 1 << 20, bytes.length - 1, bytes.length]) {
              expect(sha(yield* Effect.promise(() => readAll(file, offset)))).toBe(sha(bytes.subarray(offset)))
            }
          }),
        ),
      )
      await upload('h.bin', Buffer.from('changed'))
      const again = await runForActor(Effect.scoped(Effect.flatMap(storage.openForReading('h.bin'), (file) => storage.sha256(file))))
      expect(again).toBe(sha(Buffer.from('changed')))
    })

    it('reads a small file whole, exactly its bytes, and hashes the content given for its version', async () => {
      const bytes = randomBytes(40_000)
      await upload('small.bin', bytes)
      await upload('empty.bin', Buffer.alloc(0))
      for (const [name, expected] of [['small.bin', bytes], ['empty.bin', Buffer.alloc(0)]] as const) {
        const { whole, hash } = await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const file = yield* storage.openForReading(name)
              const whole = yield* readWhole(file)
              return { whole, hash: yield* storage.sha256(file, whole) }
            }),
          ),
        )
        expect(whole.equals(expected)).toBe(true)
        expect(hash).toBe(sha(expected))
      }
    })

    it('keeps the SHA-256 an upload was hashed to on the way in for the version stored, without reading it again', async () => {
      // A made-up hash proves it is the one remembered, not one computed from the bytes.
      const remembered = 'ee'.repeat(32)
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const target = yield* storage.createUpload('known.bin', 5, { replace: true })
            yield* Effect.promise(() => writeAll(target.sink, Buffer.from('hello')))
            yield* target.commit({ sha256: remembered })
          }),
        ),
      )
      const hash = await runForActor(Effect.scoped(Effect.flatMap(storage.openForReading('known.bin'), (file) => storage.sha256(file))))
      expect(hash).toBe(remembered)
    })

    it.runIf(options.conditionalCreate)('refuses to commit without replacing when the name was taken meanwhile', async () => {
      const scopeOfUpload = Effect.runSync(Scope.make())
      const target = await run(storage.createUpload('race.txt', 4, { replace: false }), scopeOfUpload)
      await writeAll(target.sink, Buffer.from('mine'))
      await upload('race.txt', Buffer.from('theirs'))
      await expect(runForActor(target.commit())).rejects.toMatchObject({ _tag: 'StorageFailure' })
      await Effect.runPromise(Scope.close(scopeOfUpload, Exit.void))
      expect((await download('race.txt')).bytes.toString()).toBe('theirs')
    })

    it.runIf(options.stableReads)('reads the version it opened, with its size, even when the name is replaced meanwhile', async () => {
      const first = randomBytes(3 << 20)
      await upload('v.bin', first)
      await runForActor(
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* storage.openForReading('v.bin')
            yield* Effect.promise(() => upload('v.bin', randomBytes(1000)))
            expect(file.size).toBe(first.length)
            expect(sha(yield* Effect.promise(() => readAll(file)))).toBe(sha(first))
          }),
        ),
      )
    })
  })
