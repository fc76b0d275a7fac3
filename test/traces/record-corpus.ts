/**
 * Regenerates the trace corpus in test/traces from real sessions over real sockets:
 *
 *     npm run traces:record
 *
 * Run it after changing the server session machine on purpose, check the diff of
 * test/traces, and commit it.
 */
import { readdir, rename, rm, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Effect from 'effect/Effect'
import { it } from 'vitest'
import { addAccount } from '../../src/accounts/accounts.js'
import { createTraceRecorder } from '../../src/actors/trace-recorder.js'
import { RawClient } from '../support/raw-client.js'
import { LogLines, makeTempDir } from '../support/server.js'
import { DEFAULT_LIMITS, startServer } from '../../src/actors/server-runtime.js'
import { folderStorage } from '../../src/storage/folder-storage.js'

const CORPUS = path.dirname(fileURLToPath(import.meta.url))

type Scenario = (c: RawClient) => Promise<void>

/** The token of the account the auth scenario logs in with (made fresh for each recording; traces never hold it). */
let corpusToken = ''

const exit = async (c: RawClient) => {
  await c.send('exit\n')
  await c.line()
}

const scenarios: Record<string, Scenario> = {
  'every-command': async (c) => {
    await c.send('show\n')
    await c.listing()
    await c.send('search a\n')
    await c.listing()
    await c.send('download a.txt\n')
    await c.line(), await c.line(), await c.line(), await c.bytes(5)
    await c.send('download missing.txt\n')
    await c.line(), await c.line()
    await c.send('upload new.txt\n')
    await c.line()
    await c.send('3\n')
    await c.line()
    await c.send('abc')
    await c.line()
    await exit(c)
  },
  'unknown-command': async (c) => {
    await c.send('dance\n')
    await c.line()
    await c.send('search\n')
    await c.line()
    await exit(c)
  },
  'bad-name': async (c) => {
    await c.send('download ../etc/passwd\n')
    await c.line()
    await c.send('upload .hidden\n')
    await c.line()
    await exit(c)
  },
  'bad-size': async (c) => {
    await c.send('upload x.bin\n')
    await c.line()
    await c.send('ten\n')
    await c.line()
    await c.send('upload y.bin\n')
    await c.line()
    await c.send('99999999999\n')
    await c.line()
    await exit(c)
  },
  'disconnect-mid-upload': async (c) => {
    await c.send('upload partial.bin\n')
    await c.line()
    await c.send('1000\n')
    await c.line()
    await c.send('only ten b')
    c.destroy()
  },
  pipelined: async (c) => {
    await c.send('show\ndownload a.txt\nbogus\nexit\n')
    await c.listing()
    await c.line(), await c.line(), await c.line(), await c.bytes(5)
    await c.line()
    await c.line()
  },
  'verified-get': async (c) => {
    // a.txt holds "hello": its SHA-256, a fresh get, a resume at 2, a stale hash (starts over), a missing file.
    const hello = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
    await c.send(`get 0 - a.txt\nget 2 ${hello} a.txt\nget 2 ${'0'.repeat(64)} a.txt\nget 0 - none.txt\n`)
    await c.line(), await c.line(), await c.line(), await c.bytes(5)
    await c.line(), await c.line(), await c.line(), await c.bytes(3)
    await c.line(), await c.line(), await c.line(), await c.bytes(5)
    await c.line(), await c.line()
    await exit(c)
  },
  gets: async (c) => {
    // a.txt ("hello") twice, a missing name and a refused one, in one command.
    await c.send('gets a.txt\tnone.txt\t../x\ta.txt\n')
    await c.line(), await c.line(), await c.line(), await c.bytes(5)
    await c.line(), await c.line()
    await c.line(), await c.line(), await c.bytes(5)
    await exit(c)
  },
  stores: async (c) => {
    // "data" stored, a refused name, a wrong SHA-256, then the empty line.
    const data = '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7'
    await c.send(`stores\n4 ${data} s1.txt\ndata4 ${data} ../x\ndata4 ${'0'.repeat(64)} s2.txt\ndata\n`)
    await c.line(), await c.line(), await c.line()
    await exit(c)
  },
  'verified-put': async (c) => {
    // "data" with its SHA-256 (stored), then with a wrong one (refused, nothing stored).
    const data = '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7'
    await c.send(`put v.txt\n4\n`)
    await c.line(), await c.line()
    await c.send(`data${data}\n`)
    await c.line()
    await c.send(`put w.txt\n4\ndata${'0'.repeat(64)}\n`)
    await c.line(), await c.line(), await c.line()
    await exit(c)
  },
  store: async (c) => {
    // features; "data" stored with its SHA-256; a wrong SHA-256 (nothing stored); a bad name (bytes dropped).
    const data = '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7'
    await c.send('features\n')
    for (let i = 0; i < 6; i++) await c.line()
    await c.send(`store 4 ${data} s.txt\ndatastore 4 ${'0'.repeat(64)} t.txt\ndatastore 4 ${data} ../u.txt\ndata`)
    await c.line(), await c.line(), await c.line()
    await exit(c)
  },
  'line-too-long': async (c) => {
    await c.send(`${'x'.repeat(5000)}\n`)
    await c.line()
    await exit(c)
  },
  'disconnect-while-idle': async (c) => {
    c.destroy()
  },
  'half-close': async (c) => {
    await c.send('show\ndownload a.txt\n')
    await c.halfClose()
    await c.rest()
  },
  auth: async (c) => {
    await c.send('auth corpus wrong\n')
    await c.line()
    await c.send(`auth corpus ${corpusToken}\nshow\n`)
    await c.line()
    await c.listing()
    await exit(c)
  },
  'refusal-flood': async (c) => {
    await c.send('junk\n'.repeat(40))
    await c.rest()
  },
}

it('records the trace corpus', async () => {
  const files = await makeTempDir('tor-corpus-files-')
  const traces = await makeTempDir('tor-corpus-traces-')
  await writeFile(path.join(files, 'a.txt'), 'hello')
  corpusToken = await Effect.runPromise(addAccount(path.join(files, '.tor-server'), 'corpus', ['read']))
  const recorder = createTraceRecorder(traces)
  const logs = new LogLines()
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    storage: folderStorage(files),
    limits: { ...DEFAULT_LIMITS, session: { ...DEFAULT_LIMITS.session, maxUploadBytes: 1 << 30 } },
    stateDir: path.join(files, '.tor-server'),
    log: logs.add,
    answer: () => undefined,
    inspect: recorder.inspect,
  })
  for (const old of (await readdir(CORPUS)).filter((f) => f.endsWith('.jsonl'))) await rm(path.join(CORPUS, old))
  let n = 0
  for (const [name, scenario] of Object.entries(scenarios)) {
    n++
    const client = await RawClient.connect(server.port)
    await scenario(client)
    await logs.waitFor(new RegExp(`client-${n} .* is offline`))
    const [file] = (await readdir(traces)).filter((f) => f.endsWith(`-client-${n}.jsonl`))
    await rename(path.join(traces, file!), path.join(CORPUS, `${name}.jsonl`))
  }
  server.shutdown()
  await server.stopped
  recorder.close()
})
