import { randomBytes } from 'node:crypto'
import type * as net from 'node:net'
import * as tls from 'node:tls'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import { afterEach, describe, expect, it } from 'vitest'
import { loadServerIdentity } from '../../src/actors/server-identity.js'
import { createTransportServer } from '../../src/actors/transport.js'
import { makeTempDir } from '../support/server.js'

const servers: net.Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

/** A TLS transport server; resolves with what its first connection delivered: into the reader's buffers and through 'data' events. */
const receiveOverTls = async (payload: Buffer) => {
  const identity = await Effect.runPromise(loadServerIdentity({ stateDir: path.join(await makeTempDir(), 'state') }))
  const { server, readyEvent, accept } = createTransportServer({ tls: identity })
  servers.push(server)
  const readBuffer = Buffer.alloc(64 << 10)
  const received = { intoBuffers: [] as Buffer[], asData: [] as Buffer[], otherBuffer: false }
  const closed = new Promise<typeof received>((resolve) => {
    server.on(readyEvent, (socket: net.Socket) => {
      const accepted = accept(socket)
      // A socket as it is would be read through 'data' events only.
      const read =
        typeof accepted === 'function'
          ? accepted({
              buffer: () => readBuffer,
              callback: (n, buffer) => {
                if (buffer !== readBuffer) received.otherBuffer = true
                received.intoBuffers.push(Buffer.from(buffer.subarray(0, n)))
                return true
              },
            })
          : accepted
      read.on('data', (chunk: Buffer) => received.asData.push(chunk))
      read.on('end', () => read.end())
      read.on('close', () => resolve(received))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false })
  client.on('secureConnect', () => client.end(payload))
  client.resume()
  return closed
}

describe('the TLS transport', () => {
  it("delivers an accepted connection's bytes into the reader's own buffer, in order, not as a fresh buffer per record", async () => {
    const payload = randomBytes(8 << 20)
    const received = await receiveOverTls(payload)
    expect(received.otherBuffer).toBe(false)
    const asData = received.asData.reduce((sum, chunk) => sum + chunk.length, 0)
    // Only what was decrypted with the handshake, before the reader took over, comes as 'data'.
    expect(asData).toBeLessThanOrEqual(64 << 10)
    expect(Buffer.concat([...received.asData, ...received.intoBuffers]).equals(payload)).toBe(true)
  })
})
