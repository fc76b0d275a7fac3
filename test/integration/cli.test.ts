import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import * as net from 'node:net'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RawClient } from '../support/raw-client.js'
import { TorProcess, tor } from '../support/cli.js'
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js'

let t: TestServer
let cwd: string
const flags = () => ['--port', String(t.server.port), '--dir', path.join(cwd, 'mine')]

beforeAll(async () => {
  t = await startTestServer()
  await writeFile(path.join(t.dir, 'notes.txt'), 'some notes\n')
  await writeFile(path.join(t.dir, 'photo.jpg'), Buffer.alloc(200_000, 7))
  cwd = await makeTempDir('tor-cli-')
})

afterAll(async () => {
  await t.stop()
})

describe('tor client (one-shot commands)', () => {
  it('show prints a table of name, size and last modified', async () => {
    const r = await tor(['client', 'show', ...flags()], { cwd })
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+SIZE\s+MODIFIED$/)
    expect(lines[1]).toMatch(/^notes\.txt\s+11 B\s+\d{4}-\d\d-\d\d \d\d:\d\d$/)
    expect(lines[2]).toMatch(/^photo\.jpg\s+195 KiB/)
    expect(lines.at(-1)).toMatch(/^2 files, /)
  })

  it('show --json prints the files as JSON for scripts', async () => {
    const r = await tor(['client', 'show', '--json', ...flags()], { cwd })
    expect(r.code).toBe(0)
    const files = JSON.parse(r.stdout)
    expect(files).toEqual([
      { name: 'notes.txt', size: 11, modified: expect.stringMatching(/Z$/) },
      { name: 'photo.jpg', size: 200_000, modified: expect.stringMatching(/Z$/) },
    ])
  })

  it('search --json lists only matching names', async () => {
    const r = await tor(['client', 'search', 'photo', '--json', ...flags()], { cwd })
    expect(JSON.parse(r.stdout).map((f: { name: string }) => f.name)).toEqual(['photo.jpg'])
    const none = await tor(['client', 'search', 'zzz', ...flags()], { cwd })
    expect(none.stdout).toMatch(/No file name contains "zzz"/)
  })

  it('download stores the file in Downloads and reports it', async () => {
    const r = await tor(['client', 'download', 'photo.jpg', ...flags()], { cwd })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/Downloaded photo\.jpg \(195 KiB\)/)
    expect(await readFile(path.join(cwd, 'mine/Downloads/photo.jpg'))).toEqual(Buffer.alloc(200_000, 7))
    expect((await readdir(path.join(cwd, 'mine/Downloads'))).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('upload sends a file from Uploads and the server stores it', async () => {
    await mkdir(path.join(cwd, 'mine/Uploads'), { recursive: true })
    await writeFile(path.join(cwd, 'mine/Uploads/report.csv'), 'a,b\n1,2\n')
    const r = await tor(['client', 'upload', 'report.csv', ...flags()], { cwd })
    expect(r.code).toBe(0)
    expect(await readFile(path.join(t.dir, 'report.csv'), 'utf8')).toBe('a,b\n1,2\n')
  })

  it.each([
    [['download', 'missing.txt'], /^› {3}Error: Not found file: missing\.txt \[TOR_ERR_NOT_FOUND\]$/],
    [['download', '../etc/passwd'], /^› {3}Error: invalid file name \[TOR_ERR_REFUSED\]$/],
    [['upload', 'not-there.txt'], /^› {3}Error: Not found file: .*Uploads\/not-there\.txt \[TOR_ERR_NOT_FOUND\]$/],
  ])('%j exits 1 with a one-line reason on stderr', async (args, message) => {
    const r = await tor(['client', ...args, ...flags()], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr.trim()).toMatch(message)
  })

  it('exits 1 with a one-line reason when the server refuses the connection', async () => {
    const closed = await startTestServer()
    const port = closed.server.port
    await closed.stop()
    const r = await tor(['client', 'show', '--port', String(port)], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`›   Error: cannot connect to 127.0.0.1:${port} (ECONNREFUSED) [TOR_ERR_CONNECTION]`)
  })
})

describe('tor client download from a server that breaks off', () => {
  it('exits 1 and leaves no file, not even a partial one, in Downloads', async () => {
    // A peer that announces 1000 bytes, sends 10 and hangs up.
    const peer = net.createServer((socket) => {
      // It speaks the seed protocol: get is unknown to it, so the client asks again with download.
      socket.on('data', (d) => (d.toString().startsWith('get ') ? socket.write('This command does not exist, rewrite\n') : socket.end('ok\nfound\n1000\n0123456789')))
    })
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
    const port = (peer.address() as net.AddressInfo).port
    const dir = path.join(cwd, 'broken')
    const r = await tor(['client', 'download', 'big.bin', '--port', String(port), '--dir', dir], { cwd })
    peer.close()
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^› {3}Error: transfer incomplete: connection closed after 10 of 1000 bytes \[TOR_ERR_TRANSFER_INCOMPLETE\]$/)
    expect(await readdir(path.join(dir, 'Downloads'))).toEqual([])
  })
})

describe('tor client connect (interactive prompt)', () => {
  it('runs show, search, download, upload and exit typed on stdin', async () => {
    await mkdir(path.join(cwd, 'shell/Uploads'), { recursive: true })
    await writeFile(path.join(cwd, 'shell/Uploads/mine.txt'), 'from the shell')
    const input = ['show', 'search notes', 'download notes.txt', 'upload mine.txt', 'dance', 'help', 'exit', ''].join('\n')
    const r = await tor(['client', 'connect', '--port', String(t.server.port), '--dir', path.join(cwd, 'shell')], { cwd, input })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Connected to 127\.0\.0\.1:\d+/)
    expect(r.stdout).toMatch(/NAME\s+SIZE\s+MODIFIED/)
    expect(r.stdout).toMatch(/Downloaded notes\.txt \(11 B\)/)
    expect(r.stdout).toMatch(/Uploaded mine\.txt \(14 B\) to the server/)
    expect(r.stdout).toMatch(/download <file>/)
    expect(r.stderr).toMatch(/Unknown command "dance"/)
    expect(r.stdout.trim().split('\n').at(-1)).toBe('Bye.')
    expect(await readFile(path.join(cwd, 'shell/Downloads/notes.txt'), 'utf8')).toBe('some notes\n')
    expect(await readFile(path.join(t.dir, 'mine.txt'), 'utf8')).toBe('from the shell')
  })

  it('says the server closed the connection, and exits 1, when the server goes away', async () => {
    const own = await startTestServer()
    await writeFile(path.join(own.dir, 'x.txt'), 'x')
    const client = TorProcess.start(['client', 'connect', '--port', String(own.server.port), '--dir', path.join(cwd, 'gone')], cwd)
    client.send('show')
    await client.waitFor(/1 file, 1 B/)
    await own.stop()
    client.send('show')
    expect(await client.exited).toBe(1)
    expect(client.stderr.trim()).toBe('The server closed the connection: server is shutting down')
  })

  it('keeps a name with trailing spaces typed at the prompt (they were once trimmed away)', async () => {
    await mkdir(path.join(cwd, 'spaces/Uploads'), { recursive: true })
    await writeFile(path.join(cwd, 'spaces/Uploads/padded '), 'pad')
    const r = await tor(['client', 'connect', '--port', String(t.server.port), '--dir', path.join(cwd, 'spaces')], { cwd, input: 'upload padded \nexit \n' })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Uploaded padded {2}\(3 B\)/)
    expect(await readFile(path.join(t.dir, 'padded '), 'utf8')).toBe('pad')
  })

  it('says exit to the server when its input ends', async () => {
    const before = new Set(t.finalStates.keys())
    const r = await tor(['client', 'connect', '--port', String(t.server.port), '--dir', path.join(cwd, 'shell')], { cwd, input: 'show\n' })
    expect(r.code).toBe(0)
    await t.logs.waitFor(new RegExp(`client-${before.size + 1} .* is offline`))
    const ended = [...t.finalStates].filter(([id]) => !before.has(id))
    expect(ended.map(([, state]) => state)).toEqual(['exit'])
  })
})

describe('tor server start (admin console through a pipe)', () => {
  it('lists clients, refuses to exit while one is online, and stops with exit code 0', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir], dir)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    server.send('list')
    await server.waitFor(/0 clients online/)
    const client = await RawClient.connect(Number(port))
    await server.waitFor(/client-1 127\.0\.0\.1:\d+ is online now/)
    const mark = server.stdout.length
    server.send('list')
    await server.waitFor(/client-1\s+127\.0\.0\.1\s+\d+\s+anonymous\s+no\s+awaitingCommand/, mark)
    await server.waitFor(/1 client online/, mark)
    server.send('exit')
    await server.waitFor(/Cannot stop: 1 client online/)
    await client.send('exit\n')
    expect(await client.line()).toBe('exit')
    await server.waitFor(/client-1 .* is offline/)
    server.send('help')
    await server.waitFor(/list\s+the connected clients/)
    server.send('exit')
    expect(await server.exited).toBe(0)
    expect(server.stdout).toMatch(/Tor-Server stopped\./)
  })

  it('keeps serving when its input ends, and stops cleanly on SIGTERM', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir], dir)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    server.child.stdin.end()
    await server.waitFor(/Console input ended; the server goes on/)
    const client = await RawClient.connect(Number(port))
    await client.send('show\n')
    expect(await client.listing()).toEqual([])
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    await client.closed()
  })

  it('records a session with --trace-dir that tor trace replay replays', async () => {
    const dir = await makeTempDir()
    const traces = path.join(dir, 'traces')
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--trace-dir', traces], dir)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const client = await RawClient.connect(Number(port))
    await client.send('show\ndance\nexit\n')
    await client.listing()
    await client.line()
    expect(await client.line()).toBe('exit')
    await server.waitFor(/is offline/)
    server.send('exit')
    expect(await server.exited).toBe(0)
    const [trace] = await readdir(traces)
    expect(trace).toMatch(/client-1\.jsonl$/)
    const r = await tor(['trace', 'replay', path.join(traces, trace!)], { cwd })
    expect(r.stdout.trim()).toBe('replayed 4 events, no divergence')
  })

  it('runs without a console with --no-console', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-console'], dir)
    await server.waitFor(/listening on/)
    expect(server.stdout).not.toMatch(/Admin console/)
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
  })

  it('says why it cannot start when the port is taken', async () => {
    const r = await tor(['server', 'start', '--port', String(t.server.port), '--host', '127.0.0.1', '--no-console'], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`›   Error: cannot listen on 127.0.0.1:${t.server.port} (EADDRINUSE)`)
  })
})
