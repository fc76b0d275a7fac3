import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import * as net from 'node:net'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Scope from 'effect/Scope'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientConnection } from '../../src/actors/client-connection.js'
import { encodeVerifiedSize, parseVerifiedSize } from '../../src/protocol/index.js'
import { makeTempDir } from '../support/server.js'

const servers: net.Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

/** A server that answers the first line it is sent with `payload`, written all at once, and keeps the connection open. */
const serverAnswering = async (payload: Buffer): Promise<number> => {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined)
    socket.once('data', () => socket.write(payload))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as net.AddressInfo).port
}

describe('ClientConnection', () => {
  it('receives the files of a gets answer that arrive back to back with at most 64 KiB of each through the line decoder (most of each file was once copied there)', async () => {
    const files = Array.from({ length: 8 }, () => randomBytes(1 << 20))
    const answer = Buffer.concat(
      files.flatMap((bytes) => [
        Buffer.from(`found\n${encodeVerifiedSize({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), from: 0 })}\n`),
        bytes,
      ]),
    )
    const port = await serverAnswering(answer)
    const dir = await makeTempDir('tor-connection-')
    const scope = Effect.runSync(Scope.make())
    try {
      const connection = await Effect.runPromise(Scope.extend(ClientConnection.open({ host: '127.0.0.1', port, tls: false, trust: { dir, say: () => undefined } }), scope))
      // Waiting for the answer as the client does, so each file's size line finds it ready to open the file.
      connection.write('gets f0\tf1')
      for (const i of files.keys()) {
        expect(await connection.readLine()).toEqual({ _tag: 'Line', text: 'found' })
        const sizeLine = await connection.readLine()
        const verified = sizeLine._tag === 'Line' ? parseVerifiedSize(sizeLine.text) : undefined
        if (!verified || !('size' in verified)) throw new Error(`not a size line: ${JSON.stringify(sizeLine)}`)
        const file = path.join(dir, `f${i}`)
        const fd = openSync(file, 'w')
        try {
          await connection.receiveToFile(fd, verified.size)
        } finally {
          closeSync(fd)
        }
      }
      // Each answer's two lines, and whatever of its file came in the same read as them.
      expect(connection.decodedBytes).toBeLessThanOrEqual(files.length * (64 << 10))
      for (const [i, bytes] of files.entries()) expect((await readFile(path.join(dir, `f${i}`))).equals(bytes)).toBe(true)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
