import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3'
import * as Cause from 'effect/Cause'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Layer from 'effect/Layer'
import * as Scope from 'effect/Scope'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { runBatch } from '../../src/actors/client-batch.js'
import { TorClient } from '../../src/actors/client-runtime.js'
import { MemoryFiles, memoryStorage } from '../../src/storage/memory-storage.js'
import { s3Storage } from '../../src/storage/s3-storage.js'
import { TorProcess } from '../support/cli.js'
import { RawClient } from '../support/raw-client.js'
import { makeBucket, s3ClientConfig } from '../support/s3.js'
import { makeTempDir, startTestServer, waitForFolder, type TestServer } from '../support/server.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('several Tor servers over one bucket', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const twoServers = async () => {
    const bucket = await makeBucket()
    cleanups.push(() => bucket.close())
    const start = async () => {
      const stateDir = await makeTempDir('tor-state-')
      const t = await startTestServer({
        stateDir,
        // Every listing fetches the bucket again: another server's upload shows at once.
        storage: s3Storage({ bucket: bucket.bucket, prefix: 'shared/', client: s3ClientConfig(), stateDir, listTtlMs: 0 }),
      })
      cleanups.push(() => t.stop())
      return t
    }
    return { bucket, a: await start(), b: await start() }
  }

  const clientOf = async (t: TestServer) => {
    const dir = await makeTempDir('tor-client-')
    const client = await TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir })
    cleanups.push(() => client.close())
    return { client, dir }
  }

  it('lists and downloads through one server, byte for byte, what was uploaded through the other', async () => {
    const { bucket, a, b } = await twoServers()
    const bytes = randomBytes(20 << 20)
    const alice = await clientOf(a)
    await writeFile(path.join(alice.dir, 'Uploads', 'report.bin'), bytes)
    await alice.client.run({ verb: 'upload', name: 'report.bin' })
    expect(await bucket.keys()).toEqual(['shared/report.bin'])

    const bob = await clientOf(b)
    const listing = await bob.client.run({ verb: 'show' })
    expect(listing).toMatchObject({ kind: 'listing', entries: [{ name: 'report.bin', size: bytes.length }] })
    await bob.client.run({ verb: 'download', name: 'report.bin' })
    expect(sha(await readFile(path.join(bob.dir, 'Downloads', 'report.bin')))).toBe(sha(bytes))
  })

  it('takes a batch of files in one stores through one server and serves them in one gets through the other, byte for byte', async () => {
    const { bucket, a, b } = await twoServers()
    const files = Array.from({ length: 12 }, (_, i) => [`batch-${i}.bin`, randomBytes(i === 5 ? 300_000 : 1000 + i)] as const)
    const alice = await clientOf(a)
    for (const [name, bytes] of files) await writeFile(path.join(alice.dir, 'Uploads', name), bytes)
    const reconnect = (t: TestServer, dir: string) => () => TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir })
    const up = await runBatch(alice.client, reconnect(a, alice.dir), 'upload', files.map(([name]) => name))
    expect(up.summary.failed).toEqual([])
    await a.logs.waitFor(/Files received with success: 12 of 12 sent with stores/)
    expect((await bucket.keys()).sort()).toEqual(files.map(([name]) => `shared/${name}`).sort())
    const bob = await clientOf(b)
    const down = await runBatch(bob.client, reconnect(b, bob.dir), 'download', [...files.map(([name]) => name), 'missing.bin'])
    expect(down.summary.failed.map((f) => [f.name, f.error.code])).toEqual([['missing.bin', 'TOR_ERR_NOT_FOUND']])
    await b.logs.waitFor(/Files sent with success: 12 of 13 asked with gets/)
    for (const [name, bytes] of files) expect(sha(await readFile(path.join(bob.dir, 'Downloads', name)))).toBe(sha(bytes))
  })

  it('ends concurrent same-name uploads through both servers with one of them whole', async () => {
    const { bucket, a, b } = await twoServers()
    const versions = [randomBytes(12 << 20), randomBytes(12 << 20)]
    const clients = [await clientOf(a), await clientOf(b)]
    await Promise.all(clients.map(({ dir }, i) => writeFile(path.join(dir, 'Uploads', 'same.bin'), versions[i]!)))
    await Promise.all(clients.map(({ client }) => client.run({ verb: 'upload', name: 'same.bin' })))
    expect(versions.map(sha)).toContain(sha(await bucket.get('shared/same.bin')))
    expect(await bucket.unfinishedUploads()).toEqual([])
  })

  it('keeps nothing visible of an upload whose client vanished, and aborts its multipart upload', async () => {
    const { bucket, a } = await twoServers()
    const c = await RawClient.connect(a.server.port)
    await c.send('upload cut.bin\n40000000\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    await c.send(randomBytes(12 << 20))
    await vi.waitFor(async () => expect(await bucket.unfinishedUploads()).toEqual(['shared/cut.bin']), { timeout: 10_000, interval: 50 })
    c.destroy()
    await a.logs.waitFor(/is offline/)
    // The session's scope aborts the upload as it closes, which may end just after the session does.
    await vi.waitFor(async () => expect(await bucket.unfinishedUploads()).toEqual([]), { timeout: 10_000, interval: 50 })
    expect(await bucket.keys()).toEqual([])
  })
})

describe('tor server start --storage s3://', () => {
  const processes: TorProcess[] = []
  afterEach(() => processes.splice(0).forEach((p) => p.child.kill('SIGKILL')))

  it('leaves nothing visible when killed mid-upload, and its next start aborts the multipart upload it left', async () => {
    const bucket = await makeBucket()
    const stateDir = await makeTempDir('tor-state-')
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    const args = ['server', 'start', '--port', '0', '--storage', `s3://${bucket.bucket}/team`, '--s3-endpoint', bucket.endpoint, '--state-dir', stateDir, '--no-console']
    const first = TorProcess.start(args, stateDir, env)
    processes.push(first)
    const [, port] = await first.waitFor(/listening on 127\.0\.0\.1:(\d+), serving s3:\/\/tor-[^/]+\/team\//)
    const c = await RawClient.connect(Number(port))
    await c.send('upload half.bin\n40000000\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    await c.send(randomBytes(12 << 20))
    await vi.waitFor(async () => expect(await bucket.unfinishedUploads()).toEqual(['team/half.bin']), { timeout: 10_000, interval: 50 })
    // Killed once the server has journaled it (a kill between S3 creating the upload and the journal entry
    // leaves it to the age sweep and the bucket's lifecycle rule: docs/scale-out.md).
    await waitForFolder(path.join(stateDir, 's3-uploads'), (names) => names.some((n) => n.endsWith('.json')))
    first.child.kill('SIGKILL')
    await first.exited
    c.destroy()
    expect(await bucket.keys()).toEqual([])
    expect(await bucket.unfinishedUploads()).toEqual(['team/half.bin'])

    const second = TorProcess.start(args, stateDir, env)
    processes.push(second)
    await second.waitFor(/aborted 1 multipart upload\(s\) left unfinished by this server's previous run/)
    await second.waitFor(/listening on/)
    expect(await bucket.unfinishedUploads()).toEqual([])
    expect(await bucket.keys()).toEqual([])
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    bucket.close()
  })

  it('refuses a storage location it cannot use, saying what to write instead', async () => {
    const cwd = await makeTempDir('tor-cli-')
    const bad = TorProcess.start(['server', 'start', '--port', '0', '--storage', 's3://No_Such/x', '--no-console'], cwd)
    expect(await bad.exited).toBe(2)
    expect(bad.stderr).toContain('"No_Such" is not a valid S3 bucket name')
    const ftp = TorProcess.start(['server', 'start', '--port', '0', '--storage', 'ftp://host/x', '--no-console'], cwd)
    expect(await ftp.exited).toBe(2)
    expect(ftp.stderr).toContain('use s3://bucket/prefix or a folder path')
  })
})

describe('a Tor server on a bucket with many objects', () => {
  it('lists every page of a bucket, and serves no key that is not a valid name', async () => {
    const bucket = await makeBucket()
    const stateDir = await makeTempDir('tor-state-')
    const names = Array.from({ length: 2100 }, (_, i) => `f-${String(i).padStart(5, '0')}.txt`)
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((name) => bucket.put(`p/${name}`, 'x')))
    await bucket.put('p/.hidden', 'secret')
    await bucket.put('p/sub/inner.txt', 'not a name here')
    await bucket.put('p/esc\x1b[2J.txt', 'escape')
    await bucket.put('elsewhere.txt', 'outside the prefix')
    const t = await startTestServer({ stateDir, storage: s3Storage({ bucket: bucket.bucket, prefix: 'p/', client: s3ClientConfig(), stateDir }) })
    try {
      const c = await RawClient.connect(t.server.port)
      await c.send('show\n')
      const rows = await c.listing()
      expect(rows.map((row) => row.split('\t')[0])).toEqual(names)
      for (const name of ['.hidden', 'sub/inner.txt', '../elsewhere.txt']) {
        await c.send(`download ${name}\n`)
        expect(await c.line()).toMatch(/^error invalid file name/)
      }
      c.destroy()
    } finally {
      await t.stop()
      bucket.close()
    }
  }, 60_000)
})

describe('a Tor server on the in-memory store', () => {
  it('serves listings, downloads and uploads the same way: sessions do not know the store', async () => {
    const files = new MemoryFiles()
    files.put('hello.txt', 'hello from memory')
    const t = await startTestServer({ storage: memoryStorage({ files }) })
    try {
      const c = await RawClient.connect(t.server.port)
      await c.send('show\n')
      expect((await c.listing()).map((row) => row.split('\t').slice(0, 2).join(' '))).toEqual(['hello.txt 17'])
      await c.send('download hello.txt\n')
      expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '17'])
      expect((await c.bytes(17)).toString()).toBe('hello from memory')
      await c.send('upload new.txt\n5\n')
      expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
      await c.send('12345')
      expect(await c.line()).toBe('end')
      expect(files.get('new.txt')?.bytes.toString()).toBe('12345')
      c.destroy()
    } finally {
      await t.stop()
    }
  })
})

describe('cleaning up multipart uploads at start', () => {
  it("leaves another server's upload in progress alone, and aborts one abandoned for longer than the limit", async () => {
    const bucket = await makeBucket()
    const { UploadId } = await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.bucket, Key: 'p/theirs.bin' }))
    const start = async (abandonAfterMs?: number) => {
      const stateDir = await makeTempDir('tor-state-')
      const logs: string[] = []
      const scope = Effect.runSync(Scope.make())
      const layer = s3Storage({ bucket: bucket.bucket, prefix: 'p/', client: s3ClientConfig(), stateDir, abandonAfterMs, log: (l) => logs.push(l) })
      await Effect.runPromise(Scope.extend(Layer.build(layer), scope))
      await Effect.runPromise(Scope.close(scope, Exit.void))
      return logs
    }
    expect(await start()).toEqual([])
    expect(await bucket.unfinishedUploads()).toEqual(['p/theirs.bin'])
    expect(await start(0)).toEqual(['aborted 1 multipart upload(s) abandoned for more than 0 s'])
    expect(await bucket.unfinishedUploads()).toEqual([])
    expect(UploadId).toBeDefined()
    bucket.close()
  })
})

describe('one state folder per server', () => {
  it('refuses a second server on the state folder of a running one, which would abort its uploads', async () => {
    const bucket = await makeBucket()
    const stateDir = await makeTempDir('tor-state-')
    const layer = s3Storage({ bucket: bucket.bucket, prefix: 'p/', client: s3ClientConfig(), stateDir })
    const first = Effect.runSync(Scope.make())
    await Effect.runPromise(Scope.extend(Layer.build(layer), first))
    const second = Effect.runSync(Scope.make())
    const exit = await Effect.runPromiseExit(Scope.extend(Layer.build(layer), second))
    expect(Exit.isFailure(exit) && (Cause.squash(exit.cause) as Error).message).toContain('give each server its own --state-dir')
    await Effect.runPromise(Scope.close(second, Exit.void))
    await Effect.runPromise(Scope.close(first, Exit.void))
    // Released on stop: the next start on that folder is fine.
    const third = Effect.runSync(Scope.make())
    await Effect.runPromise(Scope.extend(Layer.build(layer), third))
    await Effect.runPromise(Scope.close(third, Exit.void))
    bucket.close()
  })
})
