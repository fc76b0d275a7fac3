import { createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { Writable } from 'node:stream'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { waitFor, type AnyActorRef } from 'xstate'
import type { SessionPort } from '../../src/actors/server-session-io.js'
import { CHUNK_BYTES, readAheadBytes, UPLOAD_BUFFERS_EACH } from '../../src/storage/chunks.js'
import { folderStorage } from '../../src/storage/folder-storage.js'
import { Storage } from '../../src/storage/storage.js'
import { loadServerIdentity } from '../../src/actors/server-identity.js'
import { RawClient, names } from '../support/raw-client.js'
import { makeTempDir, startTestServer, waitForFolder, type TestServer, type TestServerOptions } from '../support/server.js'
import { canMount, mountTmpfs } from '../support/tmpfs.js'

let t: TestServer | undefined
const clients: RawClient[] = []
const cleanups: Array<() => Promise<void>> = []

const serve = async (options: TestServerOptions = {}) => {
  t = await startTestServer(options)
  return t
}
const connect = async () => {
  const client = await RawClient.connect(t!.server.port)
  clients.push(client)
  return client
}
const session = (id: string) => t!.server.actor.getSnapshot().context.clients.get(id)?.ref as AnyActorRef | undefined
const hidden = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('.'))

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await t?.stop()
  t = undefined
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

const mountable = await canMount()

describe('a client that half-closes', () => {
  it('gets every reply to what it sent before shutting down its side, in order, then the server closes', async () => {
    const { dir } = await serve()
    await writeFile(path.join(dir, 'a.txt'), 'hello')
    const c = await connect()
    await c.send('show\ndownload a.txt\nupload up.txt\n3\nabcsearch zzz\n')
    await c.halfClose()
    expect(names(await c.listing())).toEqual(['a.txt'])
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
    expect((await c.bytes(5)).toString()).toBe('hello')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'ok', 'end'])
    expect(await c.listing()).toEqual([])
    expect((await c.rest()).length).toBe(0)
    expect(await readFile(path.join(dir, 'up.txt'), 'utf8')).toBe('abc')
  })

  it('is answered before the close when it half-closes mid-listing of many files', async () => {
    const { dir } = await serve()
    await Promise.all(Array.from({ length: 3000 }, (_, i) => writeFile(path.join(dir, `file-${String(i).padStart(5, '0')}.txt`), 'x')))
    const c = await connect()
    await c.send('show\nexit\n')
    await c.halfClose()
    expect(await c.listing()).toHaveLength(3000)
    expect(await c.line()).toBe('exit')
  })
})

describe('a client that never reads', () => {
  it('stops being read once its replies back up, holds a bounded number of bytes in the server, and is ended by the stall or idle timeout', async () => {
    const { dir, logs } = await serve({ session: { stallTimeoutMs: 500, idleTimeoutMs: 500 } })
    await Promise.all(Array.from({ length: 400 }, (_, i) => writeFile(path.join(dir, `a-fairly-long-file-name-number-${i}.bin`), 'x')))
    const c = await connect()
    c.socket.pause()
    await waitFor(t!.server.actor, (s) => s.context.clients.has('client-1'))
    const ref = session('client-1')!
    const io = ref.getSnapshot().context.io as SessionPort
    let maxHeld = 0
    let commands = 0
    const sub = ref.subscribe((s) => {
      maxHeld = Math.max(maxHeld, io.connection.bufferedBytes)
      if (s.value === 'awaitingCommand') commands++
    })
    // 12,000 listings of 400 rows would be about 250 MB of replies.
    await c.send('show\n'.repeat(12_000))
    await logs.waitFor(/client-1 closing: (stalled|idle)/)
    sub.unsubscribe()
    expect(commands).toBeLessThan(12_000)
    expect(maxHeld).toBeLessThan(256 * 1024)
  })
})

describe('a client that asks gets for many files and never reads', () => {
  // Files up to 1 MiB are read ahead, 8 at a time (8 MiB at most per session); larger ones stream through two buffers.
  // A file read ahead counts twice while it waits in the socket's buffer: the sum is an upper bound.
  it.each([
    ['read whole (60 KB each)', 60_000, 1 << 20],
    ['read ahead (200 KB each)', 200_000, 4 << 20],
    ['streamed (1.5 MB each)', 1_500_000, 3 << 20],
  ])('holds a bounded number of bytes in the server while files are %s, and is ended by the stall timeout', async (_kind, size, bound) => {
    const { dir, logs } = await serve({ session: { stallTimeoutMs: 500 } })
    const names = Array.from({ length: 300 }, (_, i) => `f-${i}.bin`)
    await writeFile(path.join(dir, names[0]!), Buffer.alloc(size, 1))
    await Promise.all(names.slice(1).map((name) => symlink(names[0]!, path.join(dir, name))))
    const c = await connect()
    c.socket.pause()
    await waitFor(t!.server.actor, (s) => s.context.clients.has('client-1'))
    const io = session('client-1')!.getSnapshot().context.io as SessionPort
    let maxHeld = 0
    // What the connection holds, and the files read ahead of their turn.
    const sample = setInterval(() => (maxHeld = Math.max(maxHeld, io.connection.bufferedBytes + readAheadBytes())), 2)
    // 300 files: 18 to 450 MB of replies that are never read.
    await c.send(`gets ${names.join('\t')}\n`)
    await logs.waitFor(/client-1 closing: stalled/)
    clearInterval(sample)
    expect(maxHeld).toBeGreaterThan(0)
    expect(maxHeld).toBeLessThan(bound)
    // What was read ahead is given back once the socket is done with it (here: when the client goes).
    const closed = new Promise((resolve) => (io.connection.socket.destroyed ? resolve(undefined) : io.connection.socket.once('close', resolve)))
    c.destroy()
    await closed
    expect(readAheadBytes()).toBe(0)
  })
})

describe('clients that read a gets slowly', () => {
  it('get every file read ahead intact while their buffers go round the shared pool (one given back before its bytes left would corrupt another file)', async () => {
    const { dir } = await serve()
    // 100 KB to 870 KB each: read whole ahead of their turn, into buffers of the pool.
    const files = Array.from({ length: 60 }, (_, i) => ({ name: `r-${i}.bin`, bytes: randomBytes(100_000 + i * 13_000) }))
    await Promise.all(files.map((f) => writeFile(path.join(dir, f.name), f.bytes)))
    const readers = [await connect(), await connect()]
    await waitFor(t!.server.actor, (s) => s.context.clients.size === 2)
    for (const c of readers) c.socket.pause()
    for (const c of readers) await c.send(`gets ${files.map((f) => f.name).join('\t')}\n`)
    // Both sessions hold replies they could not write yet: the files read ahead wait in the sockets.
    const sockets = ['client-1', 'client-2'].map((id) => (session(id)!.getSnapshot().context.io as SessionPort).connection.socket)
    await vi.waitFor(() => expect(sockets.every((socket) => socket.writableLength > 0)).toBe(true), { timeout: 10_000, interval: 5 })
    for (const c of readers) c.socket.resume()
    await Promise.all(
      readers.map(async (c) => {
        expect(await c.line()).toBe('ok')
        for (const f of files) {
          expect(await c.line()).toBe('found')
          expect(await c.line()).toBe(`${f.bytes.length} ${createHash('sha256').update(f.bytes).digest('hex')} 0`)
          expect((await c.bytes(f.bytes.length)).equals(f.bytes)).toBe(true)
        }
      }),
    )
  })
})

describe('an upload the store has stopped taking', () => {
  /** The folder, except that an upload's bytes go to a sink whose writes never finish (a hung disk); counts what it was handed. */
  const hungStore = (dir: string) => {
    const handed = { bytes: 0 }
    const storage = Layer.effect(
      Storage,
      Effect.map(Storage, (store) => ({
        ...store,
        createUpload: (...args: Parameters<typeof store.createUpload>) =>
          Effect.map(store.createUpload(...args), (target) => ({
            ...target,
            sink: new Writable({ highWaterMark: 1, write: (chunk: Buffer) => void (handed.bytes += chunk.length) }),
          })),
      })),
    ).pipe(Layer.provide(folderStorage(dir)))
    return { storage, handed }
  }

  it.each(['plain TCP', 'TLS'])(
    'is not read on over %s: the server takes a few stages of it, then ends the session as stalled',
    async (transport) => {
      const dir = await makeTempDir()
      cleanups.push(() => rm(dir, { recursive: true, force: true }))
      const { storage, handed } = hungStore(dir)
      const tls = transport === 'TLS' ? await Effect.runPromise(loadServerIdentity({ stateDir: path.join(dir, '.state') })) : undefined
      const { logs } = await serve({ dir, storage, tls, session: { stallTimeoutMs: 500 } })
      const c = transport === 'TLS' ? await RawClient.connectTls(t!.server.port) : await connect()
      if (transport === 'TLS') clients.push(c)
      const size = 64 << 20
      await c.send(`upload big.bin\n${size}\n`)
      expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
      // Never completes while the server does not read: not awaited.
      c.send(randomBytes(size)).catch(() => undefined)
      await logs.waitFor(/client-1 closing: stalled/)
      expect(handed.bytes).toBeGreaterThan(0)
      expect(handed.bytes).toBeLessThanOrEqual((UPLOAD_BUFFERS_EACH + 1) * CHUNK_BYTES)
    },
  )
})

describe('a flooding client', () => {
  it('does not keep the server from answering another client: the bystander is answered after a bounded share of the flood', async () => {
    const { dir } = await serve()
    await writeFile(path.join(dir, 'a.txt'), 'x')
    const flooder = await connect()
    const bystander = await connect()
    let floodReplies = 0
    flooder.socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) floodReplies++
    })
    // Up to 1 MiB of pipelined commands waits in the server at once.
    const flood = 'search zzz\n'.repeat(90_000)
    await flooder.send(flood)
    await bystander.send('show\n')
    expect(names(await bystander.listing())).toEqual(['a.txt'])
    // Each flooded command is answered with two lines (ok, end). Measured here: about 65 flood commands
    // answered before the bystander's show with turns of 64 lines, about 2,300 without turns.
    expect(floodReplies / 2).toBeLessThan(1000)
  })

  it('summarizes refused lines in the log and disconnects a client that sends nothing else', async () => {
    const { logs } = await serve()
    const c = await connect()
    await c.send('garbage\n'.repeat(1000))
    const replies = (await c.rest()).toString().trim().split('\n')
    expect(replies.at(-1)).toBe('error too many invalid commands in a row (32), closing')
    expect(replies).toHaveLength(32)
    await logs.waitFor(/client-1 .* is offline/)
    expect(logs.lines.filter((l) => l.includes('client-1 refused "garbage"'))).toHaveLength(3)
    expect(logs.lines.some((l) => /client-1 refused 29 more lines in a row/.test(l))).toBe(true)
  })
})

describe('limits and timeouts', () => {
  it('refuses a client over --max-clients with one error line and closes it', async () => {
    const { logs } = await serve({ limits: { maxClients: 2 } })
    await connect()
    await connect()
    await waitFor(t!.server.actor, (s) => s.context.clients.size === 2)
    const third = await connect()
    expect((await third.rest()).toString()).toBe('error server full (2 clients), try again later\n')
    await logs.waitFor(/refused a connection from 127\.0\.0\.1:\d+: server full/)
  })

  it('refuses a client over --max-per-ip with one error line and closes it', async () => {
    await serve({ limits: { maxPerIp: 1 } })
    const first = await connect()
    await waitFor(t!.server.actor, (s) => s.context.clients.size === 1)
    const second = await connect()
    expect((await second.rest()).toString()).toBe('error too many connections from your address (max 1)\n')
    await first.send('show\n')
    expect(await first.listing()).toEqual([])
  })

  it('closes an idle client after --idle-timeout with one error line, and logs why', async () => {
    const { logs } = await serve({ session: { idleTimeoutMs: 200 } })
    const c = await connect()
    expect((await c.rest()).toString()).toBe('error idle timeout (0.2 s without a command), closing\n')
    await logs.waitFor(/client-1 closing: idle for 200 ms/)
  })

  it('stores byte for byte a put whose bytes come in pieces of every size across stage boundaries, the checksum line and the next command glued to the last piece', async () => {
    const { dir } = await serve()
    const c = await connect()
    const bytes = randomBytes((2 << 20) + 12345)
    const sha = createHash('sha256').update(bytes).digest('hex')
    // The first bytes come with the size line (read into the line buffer, then copied into a stage).
    await c.send(`put pieces.bin\n`)
    expect(await c.line()).toBe('ok')
    await c.send(Buffer.concat([Buffer.from(`${bytes.length}\n`), bytes.subarray(0, 5)]))
    expect(await c.line()).toBe('ok')
    let at = 5
    for (const size of [1, 7, 4096, 65_536, 1_000_000, 1, (1 << 20) - 3]) {
      await c.send(bytes.subarray(at, at + size))
      at += size
    }
    await c.send(Buffer.concat([bytes.subarray(at), Buffer.from(`${sha}\nshow\n`)]))
    expect(await c.line()).toBe('end')
    expect(await c.listing()).toEqual([expect.stringMatching(/^pieces\.bin\t/)])
    expect(createHash('sha256').update(await readFile(path.join(dir, 'pieces.bin'))).digest('hex')).toBe(sha)
  })

  it('ends an upload that stalls with one error line and removes its temporary file', async () => {
    const { dir, logs } = await serve({ session: { stallTimeoutMs: 200 } })
    const c = await connect()
    await c.send('upload slow.bin\n1000000\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    await c.send(randomBytes(1000))
    expect((await c.rest()).toString()).toBe('error transfer stalled (no progress for 0.2 s), closing\n')
    await logs.waitFor(/client-1 .* is offline/)
    // The temporary file is removed when the aborted upload's scope closes.
    expect(await waitForFolder(dir, (names) => names.length === 0)).toEqual([])
  })

  it('stops after --drain-timeout when a transfer in flight does not finish, closing what is left', async () => {
    const { dir, logs, server } = await serve({ limits: { drainTimeoutMs: 200 } })
    await writeFile(path.join(dir, 'big.bin'), randomBytes(16 << 20))
    const c = await connect()
    await c.send('download big.bin\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', String(16 << 20)])
    // The client stops reading: the download cannot finish.
    c.socket.pause()
    server.shutdown()
    await server.stopped
    expect(logs.lines.some((l) => /Drain timeout: closing 1 session\(s\)/.test(l))).toBe(true)
    expect(logs.lines.some((l) => /File sent with success/.test(l))).toBe(false)
  })

  it('kicks one session from the console mid-upload: error line, temporary file removed, the others go on', async () => {
    const { dir, logs, answers, server } = await serve()
    const kicked = await connect()
    const other = await connect()
    await kicked.send('upload big.bin\n1000000\n')
    expect([await kicked.line(), await kicked.line()]).toEqual(['ok', 'ok'])
    await kicked.send(randomBytes(1000))
    await waitFor(session('client-1')!, (s) => s.context.transfer !== undefined)
    expect(await hidden(dir)).toHaveLength(1)
    server.consoleLine('list')
    expect(answers.join('\n')).toMatch(/client-1 .* upload big\.bin/)
    server.consoleLine('kick client-1')
    expect(answers.at(-1)).toBe('Kicked client-1.')
    expect((await kicked.rest()).toString()).toBe('error disconnected by the server operator\n')
    await logs.waitFor(/client-1 .* is offline/)
    expect(await waitForFolder(dir, (names) => names.length === 0)).toEqual([])
    await other.send('show\n')
    expect(await other.listing()).toEqual([])
  })
})

describe('storage faults', () => {
  it.skipIf(!mountable)('answers an upload whose temporary file cannot be created (no free inodes) with an error that names no path, and the session goes on', async () => {
    const fs = (await mountTmpfs('size=4m,nr_inodes=8'))!
    cleanups.push(fs.unmount)
    for (let i = 0; ; i++) {
      try {
        await writeFile(path.join(fs.dir, `filler-${i}`), 'x')
      } catch {
        break
      }
    }
    const { dir } = await serve({ dir: fs.dir })
    const c = await connect()
    await c.send('upload new.txt\n')
    expect(await c.line()).toBe('ok')
    await c.send('5\n')
    const reply = await c.line()
    expect(reply).toBe('error no space left on the server')
    expect(reply).not.toContain(dir)
    await c.send('search filler-0\n')
    expect(names(await c.listing())).toEqual(['filler-0'])
    expect(await hidden(dir)).toEqual([])
  })

  it.skipIf(!mountable)('says there is not enough space before any payload byte is sent when the disk is too small', async () => {
    const fs = (await mountTmpfs('size=1m'))!
    cleanups.push(fs.unmount)
    await serve({ dir: fs.dir })
    const c = await connect()
    await c.send('upload huge.iso\n')
    expect(await c.line()).toBe('ok')
    await c.send(`${2 * 1024 ** 2}\n`)
    expect(await c.line()).toMatch(/^error not enough space on the server \(2097152 bytes needed, \d+ free\)$/)
    await c.send('show\n')
    expect(await c.listing()).toEqual([])
  })

  it.skipIf(!mountable)('reads and drops the rest of an upload when the disk fills mid-way, answers the error, and keeps nothing partial', async () => {
    const fs = (await mountTmpfs('size=1m'))!
    cleanups.push(fs.unmount)
    const { dir } = await serve({ dir: fs.dir })
    const [a, b] = [await connect(), await connect()]
    // Both pass the free-space check before either writes; together they do not fit.
    for (const c of [a, b]) {
      await c.send(`upload ${c === a ? 'a' : 'b'}.bin\n700000\n`)
      expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    }
    await Promise.all([a.send(randomBytes(700_000)), b.send(randomBytes(700_000))])
    const replies = [await a.line(), await b.line()]
    expect(replies).toContain('error no space left on the server')
    for (const reply of replies) expect(['end', 'error no space left on the server']).toContain(reply)
    for (const c of [a, b]) {
      await c.send('show\n')
      await c.listing()
    }
    expect(await hidden(dir)).toEqual([])
    for (const name of await readdir(dir)) expect((await readFile(path.join(dir, name))).length).toBe(700_000)
  })
})

/** Swaps `name` in `dir` between a plain file and what `other` creates, until the returned stop is called; a plain file is left in place. */
const keepSwapping = (dir: string, name: string, other: (path: string) => Promise<void>) => {
  let swapping = true
  const loop = (async () => {
    for (let i = 0; swapping; i++) {
      const next = path.join(dir, `.swap-${i}`)
      if (i % 2) await writeFile(next, 'plain!')
      else await other(next)
      await rename(next, path.join(dir, name))
    }
  })()
  return async () => {
    swapping = false
    await loop
    await writeFile(path.join(dir, '.swap-last'), 'plain!')
    await rename(path.join(dir, '.swap-last'), path.join(dir, name))
  }
}

/** Downloads `name` n times; the set of what came back (contents, or Not found file). */
const downloadOutcomes = async (c: RawClient, name: string, n: number): Promise<Set<string>> => {
  const outcomes = new Set<string>()
  for (let i = 0; i < n; i++) {
    await c.send(`download ${name}\n`)
    expect(await c.line()).toBe('ok')
    const found = await c.line()
    outcomes.add(found === 'Not found file' ? found : (await c.bytes(Number(await c.line()))).toString())
  }
  return outcomes
}

describe('confinement', () => {
  it('never lists or opens a FIFO in the folder, and the session goes on', async () => {
    const { dir } = await serve()
    execFileSync('mkfifo', [path.join(dir, 'pipe')])
    await writeFile(path.join(dir, 'a.txt'), 'x')
    const c = await connect()
    await c.send('show\ndownload pipe\nshow\n')
    expect(names(await c.listing())).toEqual(['a.txt'])
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
    expect(names(await c.listing())).toEqual(['a.txt'])
  })

  it('never serves an outside file through a symlink swapped in while downloading', async () => {
    const { dir } = await serve()
    const outside = await makeTempDir()
    cleanups.push(() => rm(outside, { recursive: true, force: true }))
    const secret = path.join(outside, 'secret')
    await writeFile(secret, 'SECRET')
    await writeFile(path.join(dir, 'race.txt'), 'plain!')
    const stop = keepSwapping(dir, 'race.txt', (next) => symlink(secret, next))
    const c = await connect()
    const outcomes = await downloadOutcomes(c, 'race.txt', 400)
    await stop()
    expect(outcomes).not.toContain('SECRET')
    expect(outcomes).toContain('plain!')
  })

  it('never hangs on a FIFO swapped in while downloading: every download ends and other clients are served', async () => {
    const { dir } = await serve()
    await writeFile(path.join(dir, 'race.txt'), 'plain!')
    const stop = keepSwapping(dir, 'race.txt', async (next) => void execFileSync('mkfifo', [next]))
    const c = await connect()
    const outcomes = await downloadOutcomes(c, 'race.txt', 200)
    await stop()
    expect([...outcomes].every((o) => o === 'plain!' || o === 'Not found file')).toBe(true)
    // Another client is served: a listing, and the file now that it stays plain.
    const other = await connect()
    await other.send('show\n')
    await other.listing()
    expect(await downloadOutcomes(other, 'race.txt', 1)).toEqual(new Set(['plain!']))
  })

  it.each([
    ['a right-to-left override', 'invoice\u202Efdp.exe'],
    ['a zero-width space', 'a\u200Bb.txt'],
    ['a byte-order mark', '\uFEFFa.txt'],
    ['an isolate', 'x\u2066y'],
  ])('refuses a name with %s like a control character', async (_what, name) => {
    await serve()
    const c = await connect()
    await c.send(`upload ${name}\n`)
    expect(await c.line()).toBe('error invalid file name')
  })

  it('stores a name sent in NFD under its NFC form, so two identical-looking rows cannot coexist', async () => {
    const { dir } = await serve()
    const c = await connect()
    for (const name of ['cafe\u0301.txt', 'caf\u00e9.txt']) {
      await c.send(`upload ${name}\n2\nhi`)
      expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'ok', 'end'])
    }
    expect(await readdir(dir)).toEqual(['caf\u00e9.txt'])
    await c.send('download cafe\u0301.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '2'])
  })
})

describe('crash leftovers', () => {
  it('removes the temporary files a crash left behind when the server starts', async () => {
    const dir = await makeTempDir()
    await mkdir(dir, { recursive: true })
    await writeFile(path.join(dir, '.tor-upload-0b1c2d3e-aaaa-bbbb-cccc-123456789abc.part'), 'half')
    await writeFile(path.join(dir, 'kept.txt'), 'x')
    await serve({ dir })
    expect(await readdir(dir)).toEqual(['kept.txt'])
  })
})

describe('errors sent to a client', () => {
  it('never name a server path when storing fails (a folder in the way of the name)', async () => {
    const { dir } = await serve()
    await mkdir(path.join(dir, 'taken'))
    const c = await connect()
    await c.send('upload taken\n2\nhi')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'ok', 'error a folder has that name'])
    expect(await hidden(dir)).toEqual([])
    await unlink(path.join(dir, 'taken')).catch(() => undefined)
  })
})

describe('a client that sends stores (a small file in one message)', () => {
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
  const store = (name: string, bytes: Buffer | string, hash = sha(bytes)) => Buffer.concat([Buffer.from(`store ${Buffer.byteLength(bytes)} ${hash} ${name}\n`), Buffer.from(bytes)])

  it('never runs the bytes of a refused store as commands: they are dropped, then the refusal is answered', async () => {
    const { dir } = await serve({ session: { anonymous: ['read'] } })
    const c = await connect()
    // Bytes that would be commands if they were read as lines.
    const evil = 'exit\nupload evil.txt\n3\nabc'
    await c.send(Buffer.concat([store('../escape.txt', evil), store('fine.txt', evil), Buffer.from('show\n')]))
    expect(await c.line()).toBe('error invalid file name')
    expect(await c.line()).toBe('error authentication required')
    expect(await c.listing()).toEqual([])
    expect(await readdir(dir)).not.toContain('evil.txt')
  })

  it('stores nothing when the bytes hash to something else, and the session goes on', async () => {
    const { dir } = await serve()
    const c = await connect()
    await c.send(Buffer.concat([store('a.txt', 'hello', sha('hellO')), store('b.txt', 'world')]))
    expect(await c.line()).toMatch(/^error checksum mismatch: the bytes received hash to [0-9a-f]{64}, not [0-9a-f]{64}; nothing was stored$/)
    expect(await c.line()).toBe('end')
    expect((await readdir(dir)).filter((n) => !n.startsWith('.') || n.startsWith('.tor-upload'))).toEqual(['b.txt'])
    expect(await readFile(path.join(dir, 'b.txt'), 'utf8')).toBe('world')
  })

  it('keeps nothing of a store whose client vanishes mid-bytes', async () => {
    const { dir, logs } = await serve()
    const c = await connect()
    await c.send(store('cut.bin', randomBytes(40_000)).subarray(0, 20_000))
    c.destroy()
    await logs.waitFor(/is offline/)
    expect(await readdir(dir)).toEqual([])
  })

  it('closes after a store line it cannot delimit, saying why', async () => {
    await serve()
    const c = await connect()
    await c.send(`store 99999999999 ${'0'.repeat(64)} big.iso\nshow\n`)
    expect(await c.line()).toMatch(/^error store needs <size> \(at most 16777216 bytes; larger files go with put\).*; closing$/)
    await c.closed()
  })

  it('holds a store to the size limit, dropping its bytes', async () => {
    const { dir } = await serve({ session: { maxUploadBytes: 10 } })
    const c = await connect()
    await c.send(Buffer.concat([store('big.txt', 'x'.repeat(11)), Buffer.from('show\n')]))
    expect(await c.line()).toBe('error file too large (max 10 bytes)')
    expect(await c.listing()).toEqual([])
    expect(await readdir(dir)).toEqual([])
  })
})

describe('a client that sends a stores (several small files in one command)', () => {
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
  const entry = (name: string, bytes: Buffer | string, hash = sha(bytes)) => Buffer.concat([Buffer.from(`${Buffer.byteLength(bytes)} ${hash} ${name}\n`), Buffer.from(bytes)])
  const stores = (...entries: Buffer[]) => Buffer.concat([Buffer.from('stores\n'), ...entries, Buffer.from('\n')])
  const visibleFiles = async (dir: string) => (await readdir(dir)).filter((n) => !n.startsWith('.') || n.startsWith('.tor-upload')).sort()
  // Bytes that would be commands if they were read as lines.
  const evil = 'exit\nupload evil.txt\n3\nabc'

  it('answers every entry in order, drops the bytes of each refused one without running them, and takes commands again after the empty line', async () => {
    const { dir } = await serve({ session: { maxUploadBytes: 30 } })
    const c = await connect()
    await c.send(
      Buffer.concat([
        stores(entry('a.txt', 'alpha'), entry('../escape.txt', evil), entry('b.txt', 'beta', sha('betA')), entry('big.txt', 'x'.repeat(31)), entry('c.txt', evil)),
        Buffer.from('show\n'),
      ]),
    )
    expect(await c.line()).toBe('end')
    expect(await c.line()).toBe('error invalid file name')
    expect(await c.line()).toMatch(/^error checksum mismatch: the bytes received hash to [0-9a-f]{64}, not [0-9a-f]{64}; nothing was stored$/)
    expect(await c.line()).toBe('error file too large (max 30 bytes)')
    expect(await c.line()).toBe('end')
    expect(names(await c.listing())).toEqual(['a.txt', 'c.txt'])
    expect(await visibleFiles(dir)).toEqual(['a.txt', 'c.txt'])
    expect(await readFile(path.join(dir, 'c.txt'), 'utf8')).toBe(evil)
  })

  it('answers an entry once it is stored, without waiting for the next entry (it once held the answer until then)', async () => {
    const { dir } = await serve()
    const c = await connect()
    await c.send(Buffer.concat([Buffer.from('stores\n'), entry('first.txt', 'one')]))
    expect(await c.line()).toBe('end')
    await c.send(Buffer.concat([entry('second.txt', 'two'), Buffer.from('\n')]))
    expect(await c.line()).toBe('end')
    expect(await visibleFiles(dir)).toEqual(['first.txt', 'second.txt'])
  })

  it('reads and drops every entry of a session that may not upload, each answered with the refusal', async () => {
    const { dir } = await serve({ session: { anonymous: ['read'] } })
    const c = await connect()
    await c.send(Buffer.concat([stores(entry('a.txt', evil), entry('b.txt', evil)), Buffer.from('show\n')]))
    expect([await c.line(), await c.line()]).toEqual(['error authentication required', 'error authentication required'])
    expect(await c.listing()).toEqual([])
    expect(await readdir(dir)).toEqual([])
  })

  it('needs overwrite for an entry whose name exists, and upload for a new one', async () => {
    const { dir } = await serve({ session: { anonymous: ['read', 'upload'] } })
    await writeFile(path.join(dir, 'old.txt'), 'old')
    const c = await connect()
    await c.send(stores(entry('old.txt', 'new'), entry('new.txt', 'new')))
    expect([await c.line(), await c.line()]).toEqual(['error permission denied', 'end'])
    expect(await readFile(path.join(dir, 'old.txt'), 'utf8')).toBe('old')
    expect(await readFile(path.join(dir, 'new.txt'), 'utf8')).toBe('new')
  })

  it('answers the entries before one it cannot delimit, then says why and closes', async () => {
    const { dir } = await serve()
    const c = await connect()
    await c.send(Buffer.concat([Buffer.from('stores\n'), entry('kept.txt', 'kept'), Buffer.from(`99999999999 ${'0'.repeat(64)} big.iso\nshow\n`)]))
    expect(await c.line()).toBe('end')
    expect(await c.line()).toMatch(/^error store needs <size> .*; closing$/)
    await c.closed()
    expect(await visibleFiles(dir)).toEqual(['kept.txt'])
  })

  it('keeps the entries stored before a client vanishes mid-entry, and nothing of that entry', async () => {
    const { dir, logs } = await serve()
    const c = await connect()
    const whole = Buffer.concat([Buffer.from('stores\n'), entry('done.txt', 'done'), entry('cut.bin', randomBytes(40_000))])
    await c.send(whole.subarray(0, whole.length - 20_000))
    expect(await c.line()).toBe('end')
    c.destroy()
    await logs.waitFor(/is offline/)
    expect(await visibleFiles(dir)).toEqual(['done.txt'])
  })

  it('removes the hidden file of an entry cut by a kick mid-bytes (an interrupted stores once left it behind)', async () => {
    const { dir, logs, server } = await serve()
    const c = await connect()
    // An entry of 1 MB (over 64 KiB: written to a hidden file as it arrives), 100 KB of it sent.
    await c.send(Buffer.concat([Buffer.from(`stores\n1000000 ${'0'.repeat(64)} big.bin\n`), randomBytes(100_000)]))
    expect(await waitForFolder(dir, (names) => names.some((n) => n.startsWith('.tor-upload-')))).toHaveLength(1)
    server.consoleLine('kick client-1')
    await logs.waitFor(/client-1 .* is offline/)
    expect(await waitForFolder(dir, (names) => names.length === 0)).toEqual([])
  })

  it('checks an entry hashed on the worker after reading on: a large entry with a wrong SHA-256 is refused, its hidden file removed, the next one stored', async () => {
    const { dir } = await serve()
    const c = await connect()
    const [bad, good] = [randomBytes(300_000), randomBytes(300_000)]
    await c.send(stores(entry('bad.bin', bad, sha(good)), entry('good.bin', good)))
    expect(await c.line()).toMatch(/^error checksum mismatch: the bytes received hash to [0-9a-f]{64}, not [0-9a-f]{64}; nothing was stored$/)
    expect(await c.line()).toBe('end')
    expect(await visibleFiles(dir)).toEqual(['good.bin'])
    expect((await readFile(path.join(dir, 'good.bin'))).equals(good)).toBe(true)
  })

  it('reads at most one read past the next entry line while that entry is opened (the next 1 MiB entries once piled up in the line decoder, copied twice)', async () => {
    const { dir } = await serve()
    const c = await connect()
    await waitFor(t!.server.actor, (s) => s.context.clients.has('client-1'))
    const ref = session('client-1')!
    const io = ref.getSnapshot().context.io as SessionPort
    let maxHeld = 0
    const held = () => (maxHeld = Math.max(maxHeld, io.connection.bufferedBytes))
    const sub = ref.subscribe(held)
    const sample = setInterval(held, 1)
    const files = Array.from({ length: 24 }, (_, i) => ({ name: `big-${i}.bin`, bytes: randomBytes(1 << 20) }))
    await c.send(stores(...files.map((f) => entry(f.name, f.bytes))))
    for (const _ of files) expect(await c.line()).toBe('end')
    clearInterval(sample)
    sub.unsubscribe()
    expect(maxHeld).toBeGreaterThan(0)
    // Up to 64 KiB unread before the socket pauses, and the read that crossed it.
    expect(maxHeld).toBeLessThanOrEqual(128 << 10)
    for (const f of files) expect((await readFile(path.join(dir, f.name))).equals(f.bytes)).toBe(true)
  })

  it('stops reading a client that never reads its answers, holds a bounded number of bytes, and ends it as stalled', async () => {
    const { logs } = await serve({ session: { stallTimeoutMs: 500 } })
    const c = await connect()
    c.socket.pause()
    await waitFor(t!.server.actor, (s) => s.context.clients.has('client-1'))
    const io = session('client-1')!.getSnapshot().context.io as SessionPort
    let maxHeld = 0
    const sample = setInterval(() => (maxHeld = Math.max(maxHeld, io.connection.bufferedBytes)), 2)
    // 20,000 entries refused for their name: 20,000 answers of 24 bytes nobody reads, and about 2 MB sent.
    const refusedEntry = entry('../x', 'abc')
    void c.send(Buffer.concat([Buffer.from('stores\n'), ...Array.from({ length: 20_000 }, () => refusedEntry)])).catch(() => undefined)
    await logs.waitFor(/client-1 closing: stalled/)
    clearInterval(sample)
    expect(maxHeld).toBeGreaterThan(0)
    expect(maxHeld).toBeLessThan(2 << 20)
  })
})
