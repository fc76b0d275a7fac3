import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RawClient } from '../support/raw-client.js'
import { startTestServer, type TestServer } from '../support/server.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('get: a verified download that can resume', () => {
  let t: TestServer | undefined
  const clients: RawClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await t?.stop()
  })
  const connect = async () => {
    const c = await RawClient.connect(t!.server.port)
    clients.push(c)
    return c
  }

  it('announces the size and SHA-256 of the whole file, then sends it all from 0', async () => {
    t = await startTestServer()
    const bytes = randomBytes(100_000)
    await writeFile(path.join(t.dir, 'data.bin'), bytes)
    const c = await connect()
    await c.send('get 0 - data.bin\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `${bytes.length} ${sha(bytes)} 0`])
    expect(sha(await c.bytes(bytes.length))).toBe(sha(bytes))
  })

  it('resumes at the offset asked when the hash given is the file’s, at every kind of offset', async () => {
    t = await startTestServer()
    const bytes = randomBytes(3 << 20)
    await writeFile(path.join(t.dir, 'big.bin'), bytes)
    const c = await connect()
    for (const offset of [1, 65_536, (1 << 20) + 7, bytes.length - 1, bytes.length]) {
      await c.send(`get ${offset} ${sha(bytes)} big.bin\n`)
      expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `${bytes.length} ${sha(bytes)} ${offset}`])
      expect(sha(await c.bytes(bytes.length - offset))).toBe(sha(bytes.subarray(offset)))
    }
    await c.send('show\n')
    expect(await c.listing()).toHaveLength(1)
  })

  it('starts over from 0 when the file changed since the client’s partial copy, or the offset is past its end', async () => {
    t = await startTestServer()
    const old = randomBytes(50_000)
    const now = randomBytes(40_000)
    await writeFile(path.join(t.dir, 'doc.bin'), now)
    const c = await connect()
    await c.send(`get 10000 ${sha(old)} doc.bin\n`)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `${now.length} ${sha(now)} 0`])
    expect(sha(await c.bytes(now.length))).toBe(sha(now))
    await c.send(`get 40001 ${sha(now)} doc.bin\n`)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', `${now.length} ${sha(now)} 0`])
    expect(sha(await c.bytes(now.length))).toBe(sha(now))
  })

  it('answers Not found file, and refuses a malformed get as an unknown command, leaving download as it was', async () => {
    t = await startTestServer()
    await writeFile(path.join(t.dir, 'a.txt'), 'hello')
    const c = await connect()
    await c.send('get 0 - missing.txt\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
    for (const bad of ['get', 'get 0 a.txt', 'get -1 - a.txt', 'get 0 ABC a.txt', 'get 1e3 - a.txt']) {
      await c.send(`${bad}\n`)
      expect(await c.line()).toBe('This command does not exist, rewrite')
    }
    await c.send('get 0 - ../a.txt\n')
    expect(await c.line()).toBe('error invalid file name')
    await c.send('download a.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
    expect((await c.bytes(5)).toString()).toBe('hello')
  })
})

describe('put: a verified upload', () => {
  let t: TestServer | undefined
  const clients: RawClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await t?.stop()
  })

  it('stores the file only when the SHA-256 line after the bytes is what they hash to', async () => {
    t = await startTestServer()
    const c = await RawClient.connect(t.server.port)
    clients.push(c)
    const bytes = randomBytes(3 << 20)
    await c.send('put good.bin\n')
    expect(await c.line()).toBe('ok')
    await c.send(`${bytes.length}\n`)
    expect(await c.line()).toBe('ok')
    await c.send(Buffer.concat([bytes, Buffer.from(`${sha(bytes)}\n`)]))
    expect(await c.line()).toBe('end')
    expect(sha(await readFile(path.join(t.dir, 'good.bin')))).toBe(sha(bytes))

    await c.send('put bad.bin\n5\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    await c.send(`hello${sha(Buffer.from('hellO'))}\n`)
    expect(await c.line()).toBe(`error checksum mismatch: the bytes received hash to ${sha(Buffer.from('hello'))}, not ${sha(Buffer.from('hellO'))}; nothing was stored`)
    await c.send('put worse.bin\n5\nhellonot a hash\nshow\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'ok'])
    expect(await c.line()).toBe('error checksum mismatch: no valid SHA-256 line after the bytes; nothing was stored')
    expect((await c.listing()).map((row) => row.split('\t')[0])).toEqual(['good.bin'])
    expect((await readdir(t.dir)).filter((n) => !n.startsWith('.'))).toEqual(['good.bin'])
  })
})
