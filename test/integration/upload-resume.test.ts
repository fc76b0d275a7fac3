import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { afterEach, describe, expect, it } from 'vitest'
import { addAccount } from '../../src/accounts/accounts.js'
import { TorClient } from '../../src/actors/client-runtime.js'
import { folderStorage } from '../../src/storage/folder-storage.js'
import { cutAfter, faultyProxy } from '../support/proxy.js'
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const ALL = ['read', 'upload', 'overwrite'] as const

describe('continuing a cut upload (put)', () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const setUp = async (options: { keepPartialMs?: number; dir?: string } = {}) => {
    const dir = options.dir ?? (await makeTempDir('tor-served-'))
    const stateDir = path.join(dir, '.tor-server')
    const t = await startTestServer({ dir, stateDir, storage: folderStorage(dir, { keepPartialMs: options.keepPartialMs }), session: { anonymous: ['read', 'upload', 'overwrite'] } })
    cleanups.push(() => t.stop())
    return { t, dir, stateDir }
  }
  const account = async (stateDir: string, name: string) => ({ account: name, token: await Effect.runPromise(addAccount(stateDir, name, ALL)) })
  const clientDir = async (bytes: Buffer) => {
    const dir = await makeTempDir('tor-client-')
    await mkdir(path.join(dir, 'Uploads'), { recursive: true })
    await writeFile(path.join(dir, 'Uploads', 'big.bin'), bytes)
    return dir
  }
  const upload = async (port: number, dir: string, login?: { account: string; token: string }) => {
    const client = await TorClient.connect({ host: '127.0.0.1', port, dir, login })
    try {
      return await client.run({ verb: 'upload', name: 'big.bin' })
    } finally {
      await client.close()
    }
  }
  /** An upload through a network that breaks after `limit` bytes from the client. */
  const cutUpload = async (t: TestServer, dir: string, limit: number, login?: { account: string; token: string }) => {
    const proxy = await faultyProxy(t.server.port, (chunk) => chunk, cutAfter(limit))
    await expect(upload(proxy.port, dir, login)).rejects.toBeDefined()
    proxy.close()
    await t.logs.waitFor(/upload of big\.bin .*failed|is offline/)
  }
  const kept = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('.tor-keep-'))

  it('continues where it was cut for the same account, byte for byte, and keeps nothing after', async () => {
    const { t, dir, stateDir } = await setUp()
    const alice = await account(stateDir, 'alice')
    const bytes = randomBytes(6 << 20)
    const local = await clientDir(bytes)
    await cutUpload(t, local, 3 << 20, alice)
    expect(await kept(dir)).toHaveLength(2)
    expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([])
    const outcome = await upload(t.server.port, local, alice)
    expect(outcome).toMatchObject({ verified: { sha256: sha(bytes) } })
    const from = (outcome as { verified: { from: number } }).verified.from
    expect(from).toBeGreaterThan(1 << 20)
    expect(outcome).toMatchObject({ bytes: bytes.length - from })
    expect(sha(await readFile(path.join(dir, 'big.bin')))).toBe(sha(bytes))
    expect(await kept(dir)).toEqual([])
  })

  it('never lets another account continue it, and keeps nothing of an anonymous upload', async () => {
    const { t, dir, stateDir } = await setUp()
    const alice = await account(stateDir, 'alice')
    const bob = await account(stateDir, 'bob')
    const bytes = randomBytes(4 << 20)
    const local = await clientDir(bytes)
    await cutUpload(t, local, 2 << 20, alice)
    const bobs = await upload(t.server.port, local, bob)
    expect(bobs).toMatchObject({ bytes: bytes.length, verified: { from: 0 } })
    // Alice's part is still hers.
    expect(await kept(dir)).toHaveLength(2)
    const anonymousDir = await clientDir(bytes)
    await cutUpload(t, anonymousDir, 2 << 20)
    expect(await kept(dir)).toHaveLength(2)
    expect(await upload(t.server.port, anonymousDir)).toMatchObject({ bytes: bytes.length, verified: { from: 0 } })
  })

  it('starts over when the local file changed since the cut', async () => {
    const { t, dir, stateDir } = await setUp()
    const alice = await account(stateDir, 'alice')
    const local = await clientDir(randomBytes(4 << 20))
    await cutUpload(t, local, 2 << 20, alice)
    const changed = randomBytes(4 << 20)
    await writeFile(path.join(local, 'Uploads', 'big.bin'), changed)
    expect(await upload(t.server.port, local, alice)).toMatchObject({ bytes: changed.length, verified: { from: 0 } })
    expect(sha(await readFile(path.join(dir, 'big.bin')))).toBe(sha(changed))
  })

  it('removes kept uploads older than --keep-partial when the server starts', async () => {
    const first = await setUp()
    const alice = await account(first.stateDir, 'alice')
    const local = await clientDir(randomBytes(4 << 20))
    await cutUpload(first.t, local, 2 << 20, alice)
    expect(await kept(first.dir)).toHaveLength(2)
    await first.t.stop()
    const second = await setUp({ dir: first.dir, keepPartialMs: 0 })
    expect(await kept(first.dir)).toEqual([])
    expect(await upload(second.t.server.port, local, alice)).toMatchObject({ verified: { from: 0 } })
  })
})
