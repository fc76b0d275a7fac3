import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runBatch } from '../../src/actors/client-batch.js'
import { TorClient } from '../../src/actors/client-runtime.js'
import { RESUMABLE_BYTES } from '../../src/actors/client-session-io.js'
import { cutAfter, faultyProxy, flipByteAt } from '../support/proxy.js'
import { tor } from '../support/cli.js'
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('verified, resumable downloads over real sockets', () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const serve = async (files: Record<string, Buffer>): Promise<TestServer> => {
    const t = await startTestServer()
    cleanups.push(() => t.stop())
    for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(t.dir, name), bytes)
    return t
  }
  const download = async (port: number, dir: string, name: string) => {
    const client = await TorClient.connect({ host: '127.0.0.1', port, dir })
    try {
      return await client.run({ verb: 'download', name })
    } finally {
      await client.close()
    }
  }
  /** Downloads through a proxy that breaks the connection after `limit` bytes from the server. */
  const cutDownload = async (t: TestServer, dir: string, name: string, limit: number) => {
    const proxy = await faultyProxy(t.server.port, cutAfter(limit))
    await expect(download(proxy.port, dir, name)).rejects.toMatchObject({ code: expect.stringMatching(/TOR_ERR_(TRANSFER_INCOMPLETE|PEER_CLOSED)/) })
    proxy.close()
  }
  const visibleFiles = async (dir: string) => (await readdir(path.join(dir, 'Downloads'))).filter((n) => !n.startsWith('.'))

  it('resumes, inside a pipelined batch, a file whose download was cut before, and downloads the small ones beside it whole', async () => {
    const bytes = randomBytes(RESUMABLE_BYTES + (1 << 20))
    const small = randomBytes(4096)
    const t = await serve({ 'a.bin': small, 'big.bin': bytes, 'c.bin': small })
    const dir = await makeTempDir('tor-client-')
    await cutDownload(t, dir, 'big.bin', 1 << 20)
    const client = await TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir })
    cleanups.push(() => client.close())
    const { summary } = await runBatch(client, () => TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir }), 'download', ['a.bin', 'big.bin', 'c.bin'])
    expect(summary.failed).toEqual([])
    const big = summary.done.find((d) => d.name === 'big.bin')
    expect(big?.verified?.from).toBeGreaterThan(0)
    expect(big?.bytes).toBe(bytes.length - big!.verified!.from)
    for (const [name, expected] of [['a.bin', small], ['big.bin', bytes], ['c.bin', small]] as const) {
      expect(sha(await readFile(path.join(dir, 'Downloads', name)))).toBe(sha(expected))
    }
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual(['a.bin', 'big.bin', 'c.bin'])
  })

  it('keeps, when a batch is cut inside a large file of a gets, the files before it and that file’s part, asks for the rest again, and resumes the part next time', async () => {
    const big = randomBytes(RESUMABLE_BYTES + (1 << 20))
    const small = randomBytes(4096)
    const t = await serve({ 'a.bin': small, 'big.bin': big, 'c.bin': small })
    const dir = await makeTempDir('tor-client-')
    // Every connection through the proxy is cut 2 MiB into what the server sends: inside big.bin on the first.
    const proxy = await faultyProxy(t.server.port, cutAfter(2 << 20))
    cleanups.push(() => proxy.close())
    const connect = () => TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
    const first = await runBatch(await connect(), connect, 'download', ['a.bin', 'big.bin', 'c.bin'])
    cleanups.push(() => first.client.close())
    expect(first.summary.done.map((d) => d.name)).toEqual(['a.bin', 'c.bin'])
    expect(first.summary.failed.map((f) => [f.name, f.error.code])).toEqual([['big.bin', expect.stringMatching(/TOR_ERR_(TRANSFER_INCOMPLETE|PEER_CLOSED)/)]])
    expect((await readdir(path.join(dir, 'Downloads'))).filter((n) => n.startsWith('.tor-partial-')).length).toBe(2)
    const client = await TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir })
    cleanups.push(() => client.close())
    const again = await runBatch(client, () => TorClient.connect({ host: '127.0.0.1', port: t.server.port, dir }), 'download', ['big.bin'])
    expect(again.summary.failed).toEqual([])
    expect(again.summary.done[0]?.verified?.from).toBeGreaterThan(0)
    expect(sha(await readFile(path.join(dir, 'Downloads', 'big.bin')))).toBe(sha(big))
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual(['a.bin', 'big.bin', 'c.bin'])
  })

  it('catches a byte corrupted on the way inside a gets: that file is not kept, the others arrive and the connection goes on', async () => {
    const middle = randomBytes(1 << 20)
    const small = randomBytes(4096)
    const t = await serve({ 'a.bin': small, 'mid.bin': middle, 'c.bin': small })
    const dir = await makeTempDir('tor-client-')
    const proxy = await faultyProxy(t.server.port, flipByteAt(300_000))
    cleanups.push(() => proxy.close())
    const connect = () => TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
    const { summary, client } = await runBatch(await connect(), connect, 'download', ['a.bin', 'mid.bin', 'c.bin'])
    cleanups.push(() => client.close())
    expect(summary.done.map((d) => d.name)).toEqual(['a.bin', 'c.bin'])
    expect(summary.failed.map((f) => [f.name, f.error.code])).toEqual([['mid.bin', 'TOR_ERR_CHECKSUM']])
    expect(client.connected).toBe(true)
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual(['a.bin', 'c.bin'])
  })

  it('sends again, on a new connection, the files of a stores that got no answer when the connection broke: every file arrives whole, one fails', async () => {
    const t = await serve({})
    const dir = await makeTempDir('tor-client-')
    const files = Array.from({ length: 50 }, (_, i) => [`u-${String(i).padStart(2, '0')}.bin`, randomBytes(20_000)] as const)
    await mkdir(path.join(dir, 'Uploads'), { recursive: true })
    for (const [name, bytes] of files) await writeFile(path.join(dir, 'Uploads', name), bytes)
    // The first connection breaks 300 KB into what the client sends (inside the fifteenth entry or so); later ones do not.
    let cuts = 0
    const proxy = await faultyProxy(
      t.server.port,
      (chunk) => chunk,
      (chunk, before) => (cuts === 0 && before + chunk.length > 300_000 ? (cuts++, 'cut') : chunk),
    )
    cleanups.push(() => proxy.close())
    const connect = () => TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
    const { summary, client } = await runBatch(await connect(), connect, 'upload', files.map(([name]) => name))
    cleanups.push(() => client.close())
    expect(cuts).toBe(1)
    expect(summary.failed).toHaveLength(1)
    expect(summary.failed[0]!.error.code).toMatch(/TOR_ERR_(PEER_CLOSED|TRANSFER_INCOMPLETE)/)
    expect(summary.done).toHaveLength(49)
    for (const [name, bytes] of files) {
      const stored = await readFile(path.join(t.dir, name)).catch(() => undefined)
      if (name === summary.failed[0]!.name && stored === undefined) continue
      expect(sha(stored!)).toBe(sha(bytes))
    }
    expect((await readdir(t.dir)).filter((n) => n.startsWith('.tor-upload'))).toEqual([])
  })

  it('resumes a long kept part after a gets in the same batch, to the end (the client once exited with code 13 and said nothing)', async () => {
    // The kept part is hashed first, on the worker; while the worker was behind, the socket was paused (2 MiB
    // unread) and the worker, already started by the gets, unreferenced: nothing kept the process alive.
    const big = randomBytes(160 << 20)
    // Large enough to be hashed on the worker: the worker exists (unreferenced) when the kept part is hashed.
    const first = randomBytes(2 << 20)
    const t = await serve({ 'a.bin': first, 'big.bin': big })
    const dir = await makeTempDir('tor-client-')
    await cutDownload(t, dir, 'big.bin', 150 << 20)
    const r = await tor(['client', 'download', 'a.bin', 'big.bin', '--port', String(t.server.port), '--dir', dir], { cwd: dir })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('Downloaded 2 of 2 files')
    expect(sha(await readFile(path.join(dir, 'Downloads', 'big.bin')))).toBe(sha(big))
  })

  it.each(['upload', 'download'] as const)(
    'fails every file left of a %s batch, each named, when the server cannot be reached again after the connection broke (they were once left out of the summary)',
    async (verb) => {
      const files = Array.from({ length: 40 }, (_, i) => [`f-${String(i).padStart(2, '0')}.bin`, randomBytes(i === 3 ? 3 << 20 : 20_000)] as const)
      const t = await serve(verb === 'download' ? Object.fromEntries(files) : {})
      const dir = await makeTempDir('tor-client-')
      await mkdir(path.join(dir, 'Uploads'), { recursive: true })
      for (const [name, bytes] of files) await writeFile(path.join(dir, 'Uploads', name), bytes)
      // The first connection breaks 1 MB into the files (inside the fourth), and nothing answers on that port any more.
      const proxy: { port: number; close: () => void } = await faultyProxy(
        t.server.port,
        (chunk, before) => (verb === 'download' && before + chunk.length > 1_000_000 ? (proxy.close(), 'cut') : chunk),
        (chunk, before) => (verb === 'upload' && before + chunk.length > 1_000_000 ? (proxy.close(), 'cut') : chunk),
      )
      const connect = () => TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
      const { summary, client } = await runBatch(await connect(), connect, verb, files.map(([name]) => name))
      cleanups.push(() => client.close())
      expect(summary.done.length + summary.failed.length).toBe(files.length)
      expect(summary.failed.at(-1)).toMatchObject({ name: 'f-39.bin', error: { code: 'TOR_ERR_CONNECTION' } })
    },
  )

  it('resumes a download cut at several offsets, byte for byte and hash-checked, moving only what was missing', async () => {
    const bytes = randomBytes(6 << 20)
    const t = await serve({ 'big.bin': bytes })
    // The reply lines before the payload: ok, found, the size line.
    const header = `ok\nfound\n${bytes.length} ${sha(bytes)} 0\n`.length
    for (const cut of [1, 4096, 1 << 20, (5 << 20) + 3]) {
      const dir = await makeTempDir('tor-client-')
      await cutDownload(t, dir, 'big.bin', header + cut)
      expect(await visibleFiles(dir)).toEqual([])
      const outcome = await download(t.server.port, dir, 'big.bin')
      expect(outcome).toMatchObject({ bytes: bytes.length - cut, verified: { sha256: sha(bytes), from: cut, restarted: false } })
      expect(sha(await readFile(path.join(dir, 'Downloads', 'big.bin')))).toBe(sha(bytes))
      expect(await readdir(path.join(dir, 'Downloads'))).toEqual(['big.bin'])
    }
  })

  // A file now too small to keep a part for once left the old part's description behind, hidden for ever.
  it.each([
    ['a file still large enough to resume', RESUMABLE_BYTES + 5],
    ['a file now too small to keep a part for', 4096],
  ])('starts over, and says so, when the file changed on the server between the cut and the resume, into %s', async (_, afterBytes) => {
    const before = randomBytes(RESUMABLE_BYTES + (1 << 20))
    const after = randomBytes(afterBytes)
    const t = await serve({ 'doc.bin': before })
    const dir = await makeTempDir('tor-client-')
    await cutDownload(t, dir, 'doc.bin', 1 << 20)
    await writeFile(path.join(t.dir, 'doc.bin'), after)
    const outcome = await download(t.server.port, dir, 'doc.bin')
    expect(outcome).toMatchObject({ bytes: after.length, verified: { sha256: sha(after), from: 0, restarted: true } })
    expect(sha(await readFile(path.join(dir, 'Downloads', 'doc.bin')))).toBe(sha(after))
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual(['doc.bin'])
  })

  it('catches a byte of an upload corrupted on the way: the server stores nothing, the client says why, the next try succeeds', async () => {
    const bytes = randomBytes(2 << 20)
    const t = await serve({})
    const flip = flipByteAt(1_000_000)
    const proxy = await faultyProxy(t.server.port, (chunk) => chunk, flip)
    cleanups.push(() => proxy.close())
    const dir = await makeTempDir('tor-client-')
    await mkdir(path.join(dir, 'Uploads'), { recursive: true })
    await writeFile(path.join(dir, 'Uploads', 'up.bin'), bytes)
    const client = await TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
    cleanups.push(() => client.close())
    await expect(client.run({ verb: 'upload', name: 'up.bin' })).rejects.toMatchObject({
      code: 'TOR_ERR_REFUSED',
      message: expect.stringMatching(/^checksum mismatch: the bytes received hash to [0-9a-f]{64}, not [0-9a-f]{64}; nothing was stored$/),
    })
    expect(flip.state.flipped).toBe(true)
    expect((await readdir(t.dir)).filter((n) => !n.startsWith('.'))).toEqual([])
    const outcome = await client.run({ verb: 'upload', name: 'up.bin' })
    expect(outcome).toMatchObject({ bytes: bytes.length, verified: { sha256: sha(bytes) } })
    expect(sha(await readFile(path.join(t.dir, 'up.bin')))).toBe(sha(bytes))
  })

  // 4 KiB: sent with its size line by the server, received without a part description by the client.
  it.each([
    ['a resumable file', RESUMABLE_BYTES, 200_000],
    ['a small file', 4096, 3000],
  ])('catches a byte of %s corrupted on the way, keeps nothing under the name, and the next try succeeds', async (_, size, flipAt) => {
    const bytes = randomBytes(size)
    const t = await serve({ 'flip.bin': bytes })
    let flipped = false
    const proxy = await faultyProxy(t.server.port, (chunk, before) => {
      const at = flipAt - before
      if (flipped || at < 0 || at >= chunk.length) return chunk
      flipped = true
      const copy = Buffer.from(chunk)
      copy[at] = copy[at]! ^ 0x01
      return copy
    })
    cleanups.push(() => proxy.close())
    const dir = await makeTempDir('tor-client-')
    const client = await TorClient.connect({ host: '127.0.0.1', port: proxy.port, dir })
    cleanups.push(() => client.close())
    await expect(client.run({ verb: 'download', name: 'flip.bin' })).rejects.toMatchObject({ code: 'TOR_ERR_CHECKSUM' })
    expect(flipped).toBe(true)
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual([])
    // The same connection goes on, and this time nothing is flipped.
    await client.run({ verb: 'download', name: 'flip.bin' })
    expect(sha(await readFile(path.join(dir, 'Downloads', 'flip.bin')))).toBe(sha(bytes))
  })
})
