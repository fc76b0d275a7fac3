import { randomBytes } from 'node:crypto'
import { openSync, closeSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sendFromFd } from '../../src/actors/send-from-fd.js'
import { makeTempDir } from '../support/server.js'

/** A connected socket pair on loopback; `received` resolves with everything the far side got. */
const socketPair = async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
  const sender = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise((resolve) => sender.once('connect', resolve))
  const receiver = await accepted
  server.close()
  const chunks: Buffer[] = []
  receiver.on('data', (c: Buffer) => chunks.push(c))
  const received = new Promise<Buffer>((resolve) => receiver.on('end', () => resolve(Buffer.concat(chunks))))
  return { sender, receiver, received }
}

const fileWith = async (data: Buffer) => {
  const file = path.join(await makeTempDir(), 'data.bin')
  writeFileSync(file, data)
  return openSync(file, 'r')
}

describe('sendFromFd', () => {
  it.each([
    [0, 1024],
    [1, 1024],
    [1024, 1024],
    [3 * 1024 + 17, 1024],
    [2_500_000, 1 << 20],
  ])('sends exactly %i bytes in chunks of %i, in order', async (size, chunkBytes) => {
    const data = randomBytes(size)
    const fd = await fileWith(data)
    const { sender, received } = await socketPair()
    await sendFromFd(sender, fd, size, { chunkBytes })
    sender.end()
    expect(Buffer.compare(await received, data)).toBe(0)
    closeSync(fd)
  })

  it('reports progress up to the size', async () => {
    const fd = await fileWith(randomBytes(10_000))
    const { sender } = await socketPair()
    const seen: number[] = []
    await sendFromFd(sender, fd, 10_000, { chunkBytes: 4096, onBytes: (n) => seen.push(n) })
    expect(seen.at(-1)).toBe(10_000)
    sender.destroy()
    closeSync(fd)
  })

  it('fails with TransferIncomplete when the file is shorter than announced', async () => {
    const fd = await fileWith(randomBytes(5000))
    const { sender } = await socketPair()
    await expect(sendFromFd(sender, fd, 8000, { chunkBytes: 4096 })).rejects.toMatchObject({ _tag: 'TransferIncomplete' })
    sender.destroy()
    closeSync(fd)
  })

  it('fails with PeerClosed when the other side goes away mid-transfer', async () => {
    const fd = await fileWith(randomBytes(8 << 20))
    const { sender, receiver } = await socketPair()
    receiver.once('data', () => receiver.destroy())
    await expect(sendFromFd(sender, fd, 8 << 20, { chunkBytes: 64 << 10 })).rejects.toMatchObject({ _tag: 'PeerClosed' })
    closeSync(fd)
  })
})
