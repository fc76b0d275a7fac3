import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RawClient, names } from '../support/raw-client.js'
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js'

let t: TestServer
const clients: RawClient[] = []
const connect = async () => {
  const client = await RawClient.connect(t.server.port)
  clients.push(client)
  return client
}

beforeEach(async () => {
  t = await startTestServer()
  await writeFile(path.join(t.dir, 'b.txt'), 'bee')
  await writeFile(path.join(t.dir, 'a.txt'), 'hello')
  await writeFile(path.join(t.dir, 'My Report.pdf'), randomBytes(1000))
  await utimes(path.join(t.dir, 'a.txt'), new Date('2026-11-24T10:00:00Z'), new Date('2026-11-24T10:00:00Z'))
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await t.stop()
})

const upload = async (client: RawClient, name: string, data: Buffer) => {
  await client.send(`upload ${name}\n`)
  expect(await client.line()).toBe('ok')
  await client.send(`${data.length}\n`)
  expect(await client.line()).toBe('ok')
  await client.send(data)
  return client.line()
}

const visibleFiles = async (dir: string) => (await readdir(dir)).sort()

describe('TFTCP server over a real socket', () => {
  it('lists every file with its size and ISO 8601 UTC time, in code-point order', async () => {
    const c = await connect()
    await c.send('show\n')
    const rows = await c.listing()
    expect(names(rows)).toEqual(['My Report.pdf', 'a.txt', 'b.txt'])
    expect(rows[1]).toBe('a.txt\t5\t2026-11-24T10:00:00.000Z')
  })

  it('searches by case-sensitive substring', async () => {
    const c = await connect()
    await c.send('search .txt\n')
    expect(names(await c.listing())).toEqual(['a.txt', 'b.txt'])
    await c.send('search report\n')
    expect(await c.listing()).toEqual([])
    await c.send('search Report\n')
    expect(names(await c.listing())).toEqual(['My Report.pdf'])
  })

  it('downloads exactly the bytes of the file after found and its size', async () => {
    const content = await readFile(path.join(t.dir, 'My Report.pdf'))
    const c = await connect()
    await c.send('download My Report.pdf\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '1000'])
    expect(Buffer.compare(await c.bytes(1000), content)).toBe(0)
    await c.send('show\n')
    expect(await c.listing()).toHaveLength(3)
  })

  it('answers ok and Not found file for a missing file', async () => {
    const c = await connect()
    await c.send('download nope.txt\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
  })

  it('stores an upload and lists it in the very next show', async () => {
    const c = await connect()
    const data = randomBytes(300_000)
    expect(await upload(c, 'new file.bin', data)).toBe('end')
    expect(Buffer.compare(await readFile(path.join(t.dir, 'new file.bin')), data)).toBe(0)
    await c.send('show\n')
    expect(names(await c.listing())).toContain('new file.bin')
    expect(await t.logs.waitFor(/File received with success: new file\.bin/)).toMatch(/300000 bytes/)
  })

  it('accepts an empty upload', async () => {
    const c = await connect()
    expect(await upload(c, 'empty', Buffer.alloc(0))).toBe('end')
    expect((await readFile(path.join(t.dir, 'empty'))).length).toBe(0)
  })

  it('replaces an existing file on upload', async () => {
    const c = await connect()
    expect(await upload(c, 'a.txt', Buffer.from('replaced'))).toBe('end')
    expect(await readFile(path.join(t.dir, 'a.txt'), 'utf8')).toBe('replaced')
  })

  it('says exit and closes the connection', async () => {
    const c = await connect()
    await c.send('exit\n')
    expect(await c.line()).toBe('exit')
    await c.closed()
    await t.logs.waitFor(/is offline/)
  })

  it.each(['dance', 'search', 'download', 'upload', 'show me', 'SHOW', 'search '])(
    'answers %j with the unknown-command reply and the session goes on',
    async (command) => {
      const c = await connect()
      await c.send(`${command}\nshow\n`)
      expect(await c.line()).toBe('This command does not exist, rewrite')
      expect(await c.listing()).toHaveLength(3)
    },
  )

  it('answers pipelined commands in order', async () => {
    const c = await connect()
    await c.send('search a.txt\ndownload b.txt\nbogus\ndownload nope\nexit\n')
    expect(await c.listing()).toHaveLength(1)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '3'])
    expect((await c.bytes(3)).toString()).toBe('bee')
    expect(await c.line()).toBe('This command does not exist, rewrite')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
    expect(await c.line()).toBe('exit')
  })

  it('takes an upload whose size line, bytes and next command come in one packet', async () => {
    const c = await connect()
    await c.send('upload p.txt\n')
    expect(await c.line()).toBe('ok')
    await c.send('4\nab\ncshow\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'end'])
    expect(names(await c.listing())).toContain('p.txt')
    expect(await readFile(path.join(t.dir, 'p.txt'), 'utf8')).toBe('ab\nc')
  })

  it('reads a command split across packets', async () => {
    const c = await connect()
    for (const piece of ['dow', 'nload a', '.t', 'xt', '\n']) await c.send(piece)
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
  })

  it('ignores a CR before the LF', async () => {
    const c = await connect()
    await c.send('download a.txt\r\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
    expect((await c.bytes(5)).toString()).toBe('hello')
    await c.send('upload crlf.txt\r\n')
    expect(await c.line()).toBe('ok')
    await c.send('2\r\nhi')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'end'])
  })

  it.each(['../outside.txt', '..', '.hidden', 'a/b', 'sub\\x', 'nul\u0000x', 'bell\u0007'])(
    'refuses the name %j on download and upload, and writes nothing',
    async (name) => {
      const c = await connect()
      await c.send(`download ${name}\n`)
      expect(await c.line()).toBe('error invalid file name')
      await c.send(`upload ${name}\n`)
      expect(await c.line()).toBe('error invalid file name')
      await c.send('show\n')
      expect(await c.listing()).toHaveLength(3)
      expect(await visibleFiles(t.dir)).toEqual(['My Report.pdf', 'a.txt', 'b.txt'])
      await expect(readdir(path.dirname(t.dir))).resolves.not.toContain('outside.txt')
    },
  )

  it('refuses a name over 255 bytes', async () => {
    const c = await connect()
    await c.send(`upload ${'x'.repeat(256)}\n`)
    expect(await c.line()).toBe('error invalid file name')
  })

  it('neither lists nor serves dot-files and directories', async () => {
    await writeFile(path.join(t.dir, '.secret'), 'no')
    await mkdir(path.join(t.dir, 'folder'))
    const c = await connect()
    await c.send('show\n')
    expect(names(await c.listing())).toEqual(['My Report.pdf', 'a.txt', 'b.txt'])
    await c.send('download folder\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
  })

  it('serves a symlink to a file inside the folder, but not one leading outside', async () => {
    const outside = await makeTempDir()
    await writeFile(path.join(outside, 'passwd'), 'root:x:0:0')
    await symlink(path.join(outside, 'passwd'), path.join(t.dir, 'escape'))
    await symlink(path.join(t.dir, 'a.txt'), path.join(t.dir, 'alias.txt'))
    await writeFile(path.join(t.dir, '.hidden-target'), 'no')
    await symlink(path.join(t.dir, '.hidden-target'), path.join(t.dir, 'to-hidden'))
    const c = await connect()
    await c.send('show\n')
    expect(names(await c.listing())).toEqual(['My Report.pdf', 'a.txt', 'alias.txt', 'b.txt'])
    await c.send('download escape\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
    await c.send('download to-hidden\n')
    expect([await c.line(), await c.line()]).toEqual(['ok', 'Not found file'])
    await c.send('download alias.txt\n')
    expect([await c.line(), await c.line(), await c.line()]).toEqual(['ok', 'found', '5'])
  })

  it.each([
    ['abc', 'error invalid size'],
    ['-5', 'error invalid size'],
    ['1.5', 'error invalid size'],
    ['', 'error invalid size'],
    ['2000', 'error file too large (max 1000 bytes)'],
    ['123456789012345678901234567890', 'error invalid size'],
  ])('refuses the upload size %j and the session goes on', async (size, reply) => {
    await t.stop()
    t = await startTestServer({ maxUploadBytes: 1000 })
    const c = await connect()
    await c.send('upload x\n')
    expect(await c.line()).toBe('ok')
    await c.send(`${size}\n`)
    expect(await c.line()).toBe(reply)
    await c.send('show\n')
    expect(await c.listing()).toEqual([])
    expect(await visibleFiles(t.dir)).toEqual([])
  })

  it('leaves nothing behind when a client disconnects mid-upload (the temporary file once stayed open for ever)', async () => {
    const c = await connect()
    await c.send('upload partial.bin\n')
    expect(await c.line()).toBe('ok')
    await c.send('1000000\n')
    expect(await c.line()).toBe('ok')
    await c.send(randomBytes(400_000))
    c.destroy()
    await t.logs.waitFor(/upload of partial\.bin \(1000000 bytes\) failed/)
    expect(await visibleFiles(t.dir)).toEqual(['My Report.pdf', 'a.txt', 'b.txt'])
    const other = await connect()
    await other.send('show\n')
    expect(names(await other.listing())).not.toContain('partial.bin')
  })

  it('ends concurrent uploads to one name with one of them whole, never a mix', async () => {
    const payloads = Array.from({ length: 6 }, (_, i) => Buffer.alloc(2_000_000, 65 + i))
    const uploaders = await Promise.all(payloads.map(() => connect()))
    const replies = await Promise.all(uploaders.map((c, i) => upload(c, 'same.bin', payloads[i]!)))
    expect(replies).toEqual(payloads.map(() => 'end'))
    const stored = await readFile(path.join(t.dir, 'same.bin'))
    expect(payloads.some((p) => Buffer.compare(p, stored) === 0)).toBe(true)
    expect(await visibleFiles(t.dir)).toEqual(['My Report.pdf', 'a.txt', 'b.txt', 'same.bin'])
  })

  it('serves 60 clients at once', async () => {
    const many = await Promise.all(Array.from({ length: 60 }, () => connect()))
    const results = await Promise.all(
      many.map(async (c) => {
        await c.send('show\ndownload b.txt\nexit\n')
        const rows = await c.listing()
        const head = [await c.line(), await c.line(), await c.line()]
        const body = (await c.bytes(3)).toString()
        return { rows: rows.length, head, body, bye: await c.line() }
      }),
    )
    for (const r of results) expect(r).toEqual({ rows: 3, head: ['ok', 'found', '3'], body: 'bee', bye: 'exit' })
  })

  it('runs each session as an actor system of its own, so no connect or disconnect touches the other sessions (as children, each cost O(clients))', async () => {
    const many = await Promise.all(Array.from({ length: 5 }, () => connect()))
    for (const c of many) {
      await c.send('show\n')
      await c.listing()
    }
    const server = t.server.actor
    const sessions = [...server.getSnapshot().context.clients.values()].map((client) => client.ref)
    expect(sessions).toHaveLength(5)
    // No session is the server's child, none lives in its system, and their idle timers are their own.
    expect(Object.keys(server.getSnapshot().children)).toEqual(['acceptConnections'])
    for (const session of sessions) expect(session.system).not.toBe(server.system)
    expect(Object.keys(server.system.getSnapshot()._scheduledEvents)).toEqual([])
    for (const session of sessions) expect(Object.keys(session.system.getSnapshot()._scheduledEvents)).toHaveLength(1)
    // A session that ends is forgotten by the server; the others go on.
    await many[0]!.send('exit\n')
    expect(await many[0]!.line()).toBe('exit')
    await t.logs.waitFor(/client-1 .* is offline/)
    expect(server.getSnapshot().context.clients.size).toBe(4)
    await many[1]!.send('show\n')
    expect(await many[1]!.listing()).toHaveLength(3)
  })

  it('answers an over-long line with one error, skips it up to its line feed, and leaves other clients alone', async () => {
    await t.stop()
    t = await startTestServer({ maxLineBytes: 1024 })
    await writeFile(path.join(t.dir, 'a.txt'), 'hello')
    const flooder = await connect()
    const bystander = await connect()
    await flooder.send(Buffer.alloc(5_000_000, 'x'.charCodeAt(0)))
    await flooder.send('\nshow\n')
    expect(await flooder.line()).toBe('error line too long (max 1024 bytes)')
    expect(names(await flooder.listing())).toEqual(['a.txt'])
    await bystander.send('show\n')
    expect(names(await bystander.listing())).toEqual(['a.txt'])
  })

  it('answers bytes that are not UTF-8 with an error and goes on', async () => {
    const c = await connect()
    await c.send(Buffer.from([0xff, 0xfe, 0x00, 0x0a]))
    expect(await c.line()).toBe('error line is not valid UTF-8')
    await c.send('download a.txt\n')
    expect(await c.line()).toBe('ok')
  })
})
