import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { afterEach, describe, expect, it } from 'vitest'
import { addAccount } from '../../src/accounts/accounts.js'
import { runBatch } from '../../src/actors/client-batch.js'
import { TorClient } from '../../src/actors/client-runtime.js'
import { loadServerIdentity } from '../../src/actors/server-identity.js'
import { KNOWN_SERVERS } from '../../src/actors/server-trust.js'
import { connectTransport } from '../../src/actors/transport.js'
import { RawClient, names } from '../support/raw-client.js'
import { TorProcess, tor } from '../support/cli.js'
import { runShell } from '../../src/cli/client-shell.js'
import { makeTempDir, startTestServer, type TestServer, type TestServerOptions } from '../support/server.js'
import { fakeTerminal } from '../support/terminal.js'

let t: TestServer | undefined
const clients: RawClient[] = []
const processes: TorProcess[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  await t?.stop()
  t = undefined
})

const serve = async (options: TestServerOptions = {}) => (t = await startTestServer(options))
const connect = async () => {
  const c = await RawClient.connect(t!.server.port)
  clients.push(c)
  return c
}

const tlsServer = async (stateDir: string) => {
  const identity = await Effect.runPromise(loadServerIdentity({ stateDir }))
  await serve({ tls: identity, stateDir })
  return identity
}

describe('TLS', () => {
  it('keeps its self-signed certificate across restarts, so the fingerprint stays', async () => {
    const stateDir = path.join(await makeTempDir(), 'state')
    const first = await Effect.runPromise(loadServerIdentity({ stateDir }))
    const again = await Effect.runPromise(loadServerIdentity({ stateDir }))
    expect(first.created).toBe(true)
    expect(again.created).toBe(false)
    expect(again.fingerprint256).toBe(first.fingerprint256)
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(((await import('node:fs')).statSync(path.join(stateDir, 'tls-key.pem')).mode & 0o777).toString(8)).toBe('600')
  })

  it('serves a client over TLS, trusting an unknown server on first use and saying so; takes its uploads byte for byte', async () => {
    const stateDir = path.join(await makeTempDir(), 'state')
    const identity = await tlsServer(stateDir)
    await writeFile(path.join(t!.dir, 'a.txt'), 'hello')
    const dir = await makeTempDir('tor-client-')
    const said: string[] = []
    const client = await TorClient.connect({ host: '127.0.0.1', port: t!.server.port, dir, tls: true, say: (l) => said.push(l) })
    expect(client.encrypted).toBe(true)
    const listing = await client.run({ verb: 'show' })
    expect(listing.kind === 'listing' && listing.entries.map((e) => e.name)).toEqual(['a.txt'])
    await client.run({ verb: 'download', name: 'a.txt' })
    expect(await readFile(path.join(dir, 'Downloads/a.txt'), 'utf8')).toBe('hello')
    await client.close()
    expect(said).toEqual([expect.stringContaining(`Trusting 127.0.0.1:${t!.server.port} on first use`)])
    expect(await readFile(path.join(dir, KNOWN_SERVERS), 'utf8')).toBe(`127.0.0.1:${t!.server.port} ${identity.fingerprint256}\n`)

    // Uploads: TLS hands the server its bytes record by record, copied into the stage buffers (not read into them).
    await mkdir(path.join(dir, 'Uploads'), { recursive: true })
    const big = randomBytes((3 << 20) + 777)
    const small = Array.from({ length: 5 }, (_, i) => randomBytes(1000 * (i + 1)))
    await writeFile(path.join(dir, 'Uploads', 'big.bin'), big)
    for (const [i, bytes] of small.entries()) await writeFile(path.join(dir, 'Uploads', `s${i}.bin`), bytes)
    const connectTls = () => TorClient.connect({ host: '127.0.0.1', port: t!.server.port, dir, tls: true, say: () => undefined })
    const { summary, client: last } = await runBatch(await connectTls(), connectTls, 'upload', ['s0.bin', 'big.bin', 's1.bin', 's2.bin', 's3.bin', 's4.bin'])
    await last.close()
    expect(summary.failed).toEqual([])
    // Buffer.equals: a deep toEqual over 3 MiB takes seconds.
    expect((await readFile(path.join(t!.dir, 'big.bin'))).equals(big)).toBe(true)
    for (const [i, bytes] of small.entries()) expect((await readFile(path.join(t!.dir, `s${i}.bin`))).equals(bytes)).toBe(true)

    // And back in one gets over TLS (files read ahead on the server, each record copied on the client).
    const back = await runBatch(await connectTls(), connectTls, 'download', ['s0.bin', 'big.bin', 's4.bin'])
    await back.client.close()
    expect(back.summary.failed).toEqual([])
    expect((await readFile(path.join(dir, 'Downloads', 'big.bin'))).equals(big)).toBe(true)
    expect((await readFile(path.join(dir, 'Downloads', 's4.bin'))).equals(small[4]!)).toBe(true)
  })

  it('refuses a server whose certificate changed, showing both fingerprints and how to accept the new one', async () => {
    await tlsServer(path.join(await makeTempDir(), 'state'))
    const dir = await makeTempDir('tor-client-')
    const old = `${'AB:'.repeat(31)}AB`
    await writeFile(path.join(dir, KNOWN_SERVERS), `127.0.0.1:${t!.server.port} ${old}\n`)
    const r = await tor(['client', 'show', '--port', String(t!.server.port), '--tls', '--dir', dir], { cwd: dir })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`it was ${old}`)
    expect(r.stderr).toMatch(/it is now ([0-9A-F]{2}:){31}[0-9A-F]{2}/)
    expect(r.stderr).toContain(`tor client connect --host 127.0.0.1 --port ${t!.server.port} --fingerprint`)
    expect(r.stderr).toContain('[TOR_ERR_UNTRUSTED_SERVER]')
  })

  it('accepts only the pinned fingerprint, and remembers it', async () => {
    const identity = await tlsServer(path.join(await makeTempDir(), 'state'))
    const dir = await makeTempDir('tor-client-')
    const wrong = await tor(['client', 'show', '--port', String(t!.server.port), '--tls', '--fingerprint', 'ab'.repeat(32), '--dir', dir], { cwd: dir })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/not the pinned AB:AB/)
    const pinned = identity.fingerprint256.replace(/:/g, '').toLowerCase()
    const right = await tor(['client', 'show', '--port', String(t!.server.port), '--tls', '--fingerprint', pinned, '--dir', dir], { cwd: dir })
    expect(right.code).toBe(0)
    expect(right.stderr).toBe('')
    expect(await readFile(path.join(dir, KNOWN_SERVERS), 'utf8')).toContain(identity.fingerprint256)
  })

  it('serves nothing in clear text on a TLS port', async () => {
    await tlsServer(path.join(await makeTempDir(), 'state'))
    const plain = await connect()
    await plain.send('show\n').catch(() => undefined)
    expect((await plain.rest()).toString()).not.toContain('ok')
  })

  it('talks TLS by hand through openssl-like clients (the transport, without our trust check)', async () => {
    await tlsServer(path.join(await makeTempDir(), 'state'))
    const received: Buffer[] = []
    const { socket, certificate } = await connectTransport({
      host: '127.0.0.1',
      port: t!.server.port,
      tls: true,
      onread: { buffer: Buffer.alloc(65536), callback: (n, buffer) => (received.push(Buffer.from(buffer.subarray(0, n))), true) },
    })
    expect(certificate?.authorized).toBe(false)
    socket.end('show\nexit\n')
    await new Promise((resolve) => socket.on('close', resolve))
    expect(Buffer.concat(received).toString()).toBe('ok\nend\nexit\n')
  })
})

describe('accounts and permissions', () => {
  const accounts = async (stateDir: string) => ({
    reader: await Effect.runPromise(addAccount(stateDir, 'reader', ['read'])),
    uploader: await Effect.runPromise(addAccount(stateDir, 'uploader', ['read', 'upload'])),
    writer: await Effect.runPromise(addAccount(stateDir, 'writer', ['read', 'upload', 'overwrite'])),
  })

  it('asks anonymous clients to authenticate, and allows each account exactly its permissions', async () => {
    const stateDir = path.join(await makeTempDir(), 'state')
    const tokens = await accounts(stateDir)
    const { dir } = await serve({ stateDir, session: { anonymous: [] } })
    await writeFile(path.join(dir, 'a.txt'), 'old')
    const anonymous = await connect()
    await anonymous.send('show\ndownload a.txt\nupload x\n')
    expect([await anonymous.line(), await anonymous.line(), await anonymous.line()]).toEqual(Array(3).fill('error authentication required'))

    const reader = await connect()
    await reader.send(`auth reader ${tokens.reader}\nshow\nupload new.txt\n`)
    expect(await reader.line()).toBe('ok')
    expect(names(await reader.listing())).toEqual(['a.txt'])
    expect(await reader.line()).toBe('error permission denied')

    const uploader = await connect()
    await uploader.send(`auth uploader ${tokens.uploader}\nupload a.txt\nupload new.txt\n3\nnew`)
    expect([await uploader.line(), await uploader.line()]).toEqual(['ok', 'error permission denied'])
    expect([await uploader.line(), await uploader.line(), await uploader.line()]).toEqual(['ok', 'ok', 'end'])

    const writer = await connect()
    await writer.send(`auth writer ${tokens.writer}\nupload a.txt\n3\nrep`)
    expect([await writer.line(), await writer.line(), await writer.line(), await writer.line()]).toEqual(['ok', 'ok', 'ok', 'end'])
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('rep')
    expect(await readFile(path.join(dir, 'new.txt'), 'utf8')).toBe('new')
  })

  it('gives read-only anonymous access with --anonymous read', async () => {
    await serve({ session: { anonymous: ['read'] } })
    const c = await connect()
    await c.send('show\nupload x\n')
    expect(await c.listing()).toEqual([])
    expect(await c.line()).toBe('error authentication required')
  })

  it('answers a wrong token after a delay, and closes after three failed logins', async () => {
    const stateDir = path.join(await makeTempDir(), 'state')
    await accounts(stateDir)
    await serve({ stateDir, session: { anonymous: [], loginDelayMs: 20 } })
    const c = await connect()
    await c.send('auth reader wrong\nauth nobody wrong\nauth reader wrong\n')
    expect((await c.rest()).toString()).toBe('error authentication failed\nerror authentication failed\nerror too many failed logins\n')
    await t!.logs.waitFor(/client-1 closing: 3 failed logins/)
  })

  it('logs in through the client with --user and TOR_TOKEN, and never writes the token to the log, the trace or the accounts file', async () => {
    const work = await makeTempDir()
    const stateDir = path.join(work, 'state')
    const served = path.join(work, 'served')
    const traces = path.join(work, 'traces')
    await mkdir(served)
    await writeFile(path.join(served, 'a.txt'), 'x')
    const token = await Effect.runPromise(addAccount(stateDir, 'alice', ['read']))
    const server = TorProcess.start(
      ['server', 'start', '--port', '0', '--dir', served, '--state-dir', stateDir, '--anonymous', 'off', '--trace-dir', traces, '--no-console'],
      work,
    )
    processes.push(server)
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
    const dir = path.join(work, 'client')
    const denied = await tor(['client', 'show', '--port', port!, '--dir', dir], { cwd: work })
    expect(denied.stderr.trim()).toMatch(/authentication required \(log in with --user NAME, the token in TOR_TOKEN or --token-file\) \[TOR_ERR_REFUSED\]$/)
    const r = await tor(['client', 'show', '--json', '--port', port!, '--dir', dir, '--user', 'alice'], { cwd: work, env: { TOR_TOKEN: token } })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).map((f: { name: string }) => f.name)).toEqual(['a.txt'])
    const wrong = await tor(['client', 'show', '--port', port!, '--dir', dir, '--user', 'alice'], { cwd: work, env: { TOR_TOKEN: 'nope' } })
    expect(wrong.stderr.trim()).toMatch(/authentication failed \[TOR_ERR_REFUSED\]$/)
    await server.waitFor(/client-3 .* is offline/)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.stdout).toMatch(/client-2 logged in as alice/)
    expect(server.stdout).not.toContain(token)
    const traceText = (await Promise.all((await readdir(traces)).map((f) => readFile(path.join(traces, f), 'utf8')))).join('')
    expect(traceText).toContain('auth alice <token>')
    expect(traceText).not.toContain(token)
    expect(await readFile(path.join(stateDir, 'users.json'), 'utf8')).not.toContain(token)
  })
})

describe('tor server start: safe defaults', () => {
  it('refuses clear text on an address other than loopback, naming the flag to use', async () => {
    const dir = await makeTempDir()
    const r = await tor(['server', 'start', '--host', '0.0.0.0', '--port', '0', '--dir', dir, '--no-console'], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/refusing to start: listening on 0\.0\.0\.0 .* add --tls .* or --insecure/)
  })

  it('refuses a state folder that the served folder would serve (accounts, TLS key)', async () => {
    const dir = await makeTempDir()
    const r = await tor(['server', 'start', '--port', '0', '--dir', dir, '--state-dir', path.join(dir, 'state'), '--no-console'], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--state-dir .* would be served from --dir/)
  })

  it('starts on every interface with --tls, anonymous access off, and prints the fingerprint', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--host', '0.0.0.0', '--port', '0', '--tls', '--dir', path.join(dir, 'files'), '--no-console'], dir)
    processes.push(server)
    await server.waitFor(/listening on 0\.0\.0\.0:\d+ \(TLS only\)/)
    await server.waitFor(/Made a self-signed certificate: SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/)
    await server.waitFor(/Anonymous access: off/)
    expect((await readdir(path.join(dir, '.tor-server'))).sort()).toEqual(['tls-cert.pem', 'tls-key.pem'])
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })

  it('binds loopback by default, in clear text with anonymous access as before', async () => {
    const dir = await makeTempDir()
    const server = TorProcess.start(['server', 'start', '--port', '0', '--dir', dir, '--no-console'], dir)
    processes.push(server)
    await server.waitFor(/listening on 127\.0\.0\.1:\d+, serving/)
    await server.waitFor(/Anonymous access: read and write/)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })
})

describe('the prompt when the server wants an account', () => {
  it('asks for the account and its token (not echoed), logs in, and runs the command', async () => {
    const stateDir = path.join(await makeTempDir(), 'state')
    const token = await Effect.runPromise(addAccount(stateDir, 'carol', ['read']))
    const { dir } = await serve({ stateDir, session: { anonymous: [] } })
    await writeFile(path.join(dir, 'a.txt'), 'x')
    const home = await makeTempDir('tor-prompt-')
    const client = await TorClient.connect({ host: '127.0.0.1', port: t!.server.port, dir: home })
    const term = fakeTerminal()
    const finished = runShell(client, home, term.io, () => TorClient.connect({ host: '127.0.0.1', port: t!.server.port, dir: home }))
    term.type('show\r')
    await term.said(/The server asks for an account\./)
    await term.shown(/Account: /)
    term.type('carol\r')
    await term.shown(/Token for carol: /)
    term.type(`${token}\r`)
    await term.said(/^1 file, /)
    term.type('exit\r')
    expect(await finished).toBe(0)
    await client.close()
    expect(term.echoed()).toContain('carol')
    expect(term.echoed()).not.toContain(token)
    expect(await readFile(path.join(home, '.tor_history'), 'utf8').catch(() => '')).not.toContain(token)
  })
})
