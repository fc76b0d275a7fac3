import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import * as net from 'node:net'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ClientConnection, MAX_UNREAD_BYTES, RECEIVE_BUFFER_BYTES } from '../../src/actors/client-connection.js'
import { TorClient } from '../../src/actors/client-runtime.js'
import { RawClient } from '../support/raw-client.js'
import { TorProcess, tor } from '../support/cli.js'
import { fakeServer, type FakeReply } from '../support/hostile-server.js'
import { makeTempDir, waitForFolder } from '../support/server.js'

const ESC = '\u001b'
const BEL = '\u0007'
const peers: net.Server[] = []
const processes: TorProcess[] = []

afterEach(() => {
  for (const peer of peers.splice(0)) peer.close()
  for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL')
})

const hostileServer = async (reply: (line: string, socket: net.Socket) => FakeReply): Promise<number> => {
  const { port, server } = await fakeServer(reply)
  peers.push(server)
  return port
}

const evilName = `${ESC}]0;pwned${BEL}${ESC}[2Jevil.txt`

describe('tor client against a hostile server', () => {
  it('shows names with escape sequences made visible, never raw, and keeps --json exact', async () => {
    const port = await hostileServer((line) => (line === 'show' ? `ok\n${evilName}\t5\t2026-11-24T10:00:00.000Z\nend\n` : line === 'exit' ? 'exit\n' : undefined))
    const cwd = await makeTempDir('tor-cli-')
    const table = await tor(['client', 'show', '--port', String(port), '--dir', cwd], { cwd })
    expect(table.code).toBe(0)
    expect(table.stdout).not.toContain(ESC)
    expect(table.stdout).not.toContain(BEL)
    expect(table.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2Jevil.txt')
    const json = await tor(['client', 'show', '--json', '--port', String(port), '--dir', cwd], { cwd })
    expect(JSON.parse(json.stdout)).toEqual([{ name: evilName, size: 5, modified: '2026-11-24T10:00:00.000Z' }])
  })

  it('shows an error reason with escape sequences made visible, as one line with its code', async () => {
    const port = await hostileServer((line) => (line.startsWith('download') ? `error ${ESC}[2J${ESC}]0;title${BEL}gotcha\n` : undefined))
    const cwd = await makeTempDir('tor-cli-')
    const r = await tor(['client', 'download', 'x', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain(ESC)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr.trim()).toBe('›   Error: \\x1b[2J\\x1b]0;title\\x07gotcha [TOR_ERR_REFUSED]')
  })

  it('gives --json errors as one JSON line on stderr, and stdout stays empty', async () => {
    const port = await hostileServer((line) => (line.startsWith('search') ? 'error nope\n' : undefined))
    const cwd = await makeTempDir('tor-cli-')
    const r = await tor(['client', 'search', 'x', '--json', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'TOR_ERR_REFUSED', message: 'nope' } })
  })

  it('fails with TOR_ERR_TIMEOUT when the server says nothing for --timeout seconds', async () => {
    const port = await hostileServer(() => undefined)
    const cwd = await makeTempDir('tor-cli-')
    const r = await tor(['client', 'show', '--timeout', '1', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('›   Error: the server did not answer within 1 s [TOR_ERR_TIMEOUT]')
  })

  it('says what a server silent after a get may be doing when a download times out before any byte (hashing a large new file)', async () => {
    const port = await hostileServer(() => undefined)
    const cwd = await makeTempDir('tor-cli-')
    const r = await tor(['client', 'download', 'big.iso', '--timeout', '1', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the server did not answer within 1 s (a server hashes a file it has not sent before first')
    expect(r.stderr).toContain('[TOR_ERR_TIMEOUT]')
  })

  it('says a download is waiting when the server is silent after the get, then shows the transfer as usual', async () => {
    const bytes = randomBytes(1000)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    // Answers the get only once the client has said it is waiting: no timing in the test.
    let noticed: () => void = () => undefined
    const notice = new Promise<void>((resolve) => (noticed = resolve))
    const port = await hostileServer((line, socket) => {
      if (!line.startsWith('get ')) return line === 'exit' ? 'exit\n' : undefined
      void notice.then(() => socket.write(Buffer.concat([Buffer.from(`ok\nfound\n${bytes.length} ${sha256} 0\n`), bytes])))
      return ''
    })
    const dir = await makeTempDir('tor-cli-')
    const client = await TorClient.connect({ host: '127.0.0.1', port, dir })
    const seen: string[] = []
    const progress = {
      waiting: (label: string) => (seen.push(`waiting ${label}`), noticed()),
      start: (total: number, label: string) => seen.push(`start ${label} ${total}`),
      update: () => undefined,
      stop: () => seen.push('stop'),
    }
    try {
      const outcome = await client.run({ verb: 'download', name: 'big.iso' }, progress)
      expect(outcome).toMatchObject({ kind: 'transferred', bytes: 1000, verified: { sha256 } })
      expect(seen).toEqual(['waiting big.iso', 'start big.iso 1000', 'stop'])
      expect(await readFile(path.join(dir, 'Downloads', 'big.iso'))).toEqual(bytes)
    } finally {
      await client.close()
    }
  })

  it('suggests --tls only when the server closed before any reply, never for a connection cut mid-transfer (it once did)', async () => {
    const cwd = await makeTempDir('tor-cli-')
    const silent = await hostileServer(() => ({ end: '' }))
    const before = await tor(['client', 'show', '--port', String(silent), '--dir', cwd], { cwd })
    expect(before.code).toBe(1)
    expect(before.stderr).toMatch(/connection closed \(if the server speaks TLS, use --tls.*\[TOR_ERR_PEER_CLOSED\]/)
    // Takes the upload, then closes while the bytes are on their way.
    const cut = await hostileServer((line) => (line.startsWith('put ') ? 'ok\n' : /^\d+( |$)/.test(line) ? { end: 'ok\n' } : undefined))
    await mkdir(path.join(cwd, 'Uploads'), { recursive: true })
    await writeFile(path.join(cwd, 'Uploads', 'big.bin'), randomBytes(16 << 20))
    const during = await tor(['client', 'upload', 'big.bin', '--port', String(cut), '--dir', cwd], { cwd })
    expect(during.code).toBe(1)
    expect(during.stderr).toMatch(/connection closed during transfer \(the server went away or cut the connection.*\[TOR_ERR_PEER_CLOSED\]/)
    expect(during.stderr).not.toMatch(/--tls/)
  })

  it('refuses a download larger than the free space in Downloads before writing a byte (a server announcing 4 PiB once filled the disk)', async () => {
    const cwd = await makeTempDir('tor-cli-')
    const huge = 2 ** 52
    const port = await hostileServer((line) => (line.startsWith('get ') ? `ok\nfound\n${huge} ${'a'.repeat(64)} 0\nsome bytes` : undefined))
    const r = await tor(['client', 'download', 'huge.bin', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`not enough space in \\S*Downloads \\(${huge} bytes needed, \\d+ free\\): nothing was downloaded \\[TOR_ERR_NO_LOCAL_SPACE\\]`))
    expect(await readdir(path.join(cwd, 'Downloads'))).toEqual([])
  })

  it('answered a gets with a resumed size line, a huge size or a wrong hash: writes nothing it cannot verify, says which files failed', async () => {
    const cwd = await makeTempDir('tor-cli-')
    const H = 'a'.repeat(64)
    const answers: Record<string, string> = {
      // A resumed size line is not an answer to gets (whole files only): the rest cannot be followed.
      'resumed.bin': `ok\nfound\n5 ${H} 2\nllo`,
      'huge.bin': `ok\nfound\n${2 ** 52} ${H} 0\nsome bytes`,
      // Bytes that do not hash to what was announced: that file fails, the next ones go on.
      'wrong.bin': `ok\nfound\n5 ${H} 0\nhelloNot found file\n`,
    }
    const port = await hostileServer((line) => {
      if (line === 'features') return 'ok\nget\ngets\nend\n'
      const names = line.startsWith('gets ') ? line.slice(5).split('\t') : undefined
      return names ? answers[names[0]!] : line === 'exit' ? { end: 'exit\n' } : undefined
    })
    for (const name of ['resumed.bin', 'huge.bin']) {
      const r = await tor(['client', 'download', name, 'other.bin', '--port', String(port), '--dir', cwd], { cwd })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(name === 'huge.bin' ? /TOR_ERR_NO_LOCAL_SPACE/ : /resumed "resumed.bin" at 2, though gets asks for whole files \[TOR_ERR_PROTOCOL\]/)
    }
    const wrong = await tor(['client', 'download', 'wrong.bin', 'missing.bin', '--port', String(port), '--dir', cwd], { cwd })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('Downloaded 0 of 2 files')
    expect(wrong.stderr).toMatch(/wrong\.bin: .*\[TOR_ERR_CHECKSUM\]/)
    expect(wrong.stderr).toMatch(/missing\.bin: Not found file.*\[TOR_ERR_NOT_FOUND\]/)
    expect(await readdir(path.join(cwd, 'Downloads'))).toEqual([])
  })

  it('stops reading a server that floods lines nobody asked for, holding a bounded number of its bytes (it once took them all)', async () => {
    // 32 MiB of lines the moment the client connects: far more than the kernel's buffers hold.
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined)
      socket.write(Buffer.alloc(32 << 20, 'x\n'))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    peers.push(server)
    const scope = Effect.runSync(Scope.make())
    const dir = await makeTempDir('tor-cli-')
    const port = (server.address() as net.AddressInfo).port
    const connection = await Effect.runPromise(Scope.extend(ClientConnection.open({ host: '127.0.0.1', port, tls: false, trust: { dir, say: () => undefined } }), scope))
    try {
      await vi.waitFor(() => expect(connection.paused).toBe(true), { timeout: 10_000, interval: 10 })
      // What it holds: the bound and at most one read more.
      expect(connection.bufferedBytes).toBeLessThanOrEqual(MAX_UNREAD_BYTES + RECEIVE_BUFFER_BYTES)
      // Taking lines makes room, and it reads on.
      for (let i = 0; i < 600_000; i++) await connection.readLine()
      expect(connection.paused).toBe(false)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })

  it('keeps nothing when the server sends fewer bytes than it announced, and a later run cleans what a killed one left', async () => {
    const cwd = await makeTempDir('tor-cli-')
    const downloads = path.join(cwd, 'Downloads')
    // A partial file of a client that was killed (its pid no longer runs), and an old-style one.
    await mkdir(downloads, { recursive: true })
    await writeFile(path.join(downloads, '.tor-download-999999999-0b1c2d3e-aaaa-bbbb-cccc-123456789abc.part'), 'half')
    await writeFile(path.join(downloads, '.tor-download-0b1c2d3e-aaaa-bbbb-cccc-123456789abc.part'), 'half')
    const port = await hostileServer((line) => (line.startsWith('download') ? 'ok\nfound\n1000\n0123' : undefined))
    const r = await tor(['client', 'download', 'a.bin', '--timeout', '1', '--port', String(port), '--dir', cwd], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/TOR_ERR_TIMEOUT/)
    expect(await readdir(downloads)).toEqual([])
  })
})

describe('tor server start under signals and crashes', () => {
  it('lets a download in flight finish on SIGTERM, refuses new connections, then exits 0', async () => {
    const dir = await makeTempDir()
    const content = randomBytes(32 << 20)
    await writeFile(path.join(dir, 'big.bin'), content)
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console'], dir)
    processes.push(server)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const c = await RawClient.connect(Number(port))
    await c.send('download big.bin\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', String(content.length)])
    // The client reads nothing more for now: most of the 32 MiB is still to send.
    c.socket.pause()
    server.child.kill('SIGTERM')
    await server.waitFor(/Shutting down: waiting for 1 session/)
    await expect(RawClient.connect(Number(port))).rejects.toThrow(/ECONNREFUSED/)
    c.socket.resume()
    expect(Buffer.compare(await c.bytes(content.length), content)).toBe(0)
    expect(await c.line()).toBe('error server is shutting down')
    expect(await server.exited).toBe(0)
    expect(server.stdout).toMatch(/File sent with success: big\.bin/)
  })

  it('stops at once on a second signal', async () => {
    const dir = await makeTempDir()
    await writeFile(path.join(dir, 'big.bin'), randomBytes(32 << 20))
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console'], dir)
    processes.push(server)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const c = await RawClient.connect(Number(port))
    await c.send('download big.bin\n')
    await c.line()
    c.socket.pause()
    server.child.kill('SIGTERM')
    await server.waitFor(/Shutting down/)
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
    expect(server.stdout).toMatch(/Stopping at once: closing 1 session/)
  })

  it('removes the temporary file that kill -9 left mid-upload when it starts again', async () => {
    const dir = await makeTempDir()
    const first = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console'], dir)
    processes.push(first)
    const [, port] = await first.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const c = await RawClient.connect(Number(port))
    await c.send('upload half.bin\n10000000\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    await c.send(randomBytes(100_000))
    const [leftover] = await waitForFolder(dir, (names) => names.some((n) => n.startsWith('.tor-upload-')))
    first.child.kill('SIGKILL')
    await first.exited
    c.destroy()
    expect(await readdir(dir)).toEqual([leftover])
    const second = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console'], dir)
    processes.push(second)
    await second.waitFor(/listening on/)
    expect(await readdir(dir)).toEqual([])
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })
})

describe('tor client connect when the server drops it', () => {
  it('says at once, at the prompt, that the server closed the idle connection and why', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console', '--idle-timeout', '0.3'], dir)
    processes.push(server)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const cwd = await makeTempDir('tor-cli-')
    const client = TorProcess.start(['client', 'connect', '--port', port!, '--dir', cwd], cwd)
    processes.push(client)
    expect(await client.exited).toBe(1)
    expect(client.stderr.trim()).toBe('The server closed the connection: idle timeout (0.3 s without a command), closing')
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })
})

describe('tor client connect after a download', () => {
  it('notices a server that closed while the download was still being stored (the prompt once sat there)', async () => {
    // The payload, a last word, and the close all at once.
    const port = await hostileServer((line) => (line.startsWith('download') ? { end: 'ok\nfound\n5\nhelloerror server is shutting down\n' } : undefined))
    const cwd = await makeTempDir('tor-cli-')
    const client = TorProcess.start(['client', 'connect', '--port', String(port), '--dir', cwd], cwd)
    processes.push(client)
    client.send('download a.txt')
    expect(await client.exited).toBe(1)
    expect(client.stdout).toMatch(/Downloaded a\.txt \(5 B\)/)
    expect(client.stderr.trim()).toBe('The server closed the connection: server is shutting down')
  })
})
