import * as net from 'node:net'

/**
 * A TCP proxy in front of a real server, for faults on the way: `toClient` sees each
 * chunk the server sends, with how many bytes went before it, and returns the bytes
 * to forward, or 'cut' to drop both connections there (a network that breaks);
 * `toServer` may change what the client sends. Listens on port 0.
 */
export const faultyProxy = async (
  targetPort: number,
  toClient: (chunk: Buffer, before: number) => Buffer | 'cut',
  toServer: (chunk: Buffer, before: number) => Buffer | 'cut' = (chunk) => chunk,
): Promise<{ port: number; close: () => void }> => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    let before = 0
    // A cut towards the client still delivers what was forwarded before it (written, maybe not yet flushed),
    // then ends: how many bytes arrive must not depend on how fast the client reads.
    let ending = false
    const cut = () => {
      upstream.destroy()
      if (!ending) client.destroy()
    }
    client.on('error', cut).on('close', cut)
    upstream.on('error', cut).on('close', cut)
    let sent = 0
    client.on('data', (chunk: Buffer) => {
      const out = toServer(chunk, sent)
      sent += chunk.length
      if (out === 'cut') return cut()
      if (!upstream.write(out)) client.pause()
    })
    upstream.on('drain', () => client.resume())
    upstream.on('data', (chunk: Buffer) => {
      const out = toClient(chunk, before)
      before += chunk.length
      if (out === 'cut') {
        ending = true
        upstream.destroy()
        client.end()
        return
      }
      client.write(out)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

/** Forwards the first `limit` bytes from the server, then cuts both connections. */
export const cutAfter = (limit: number) => (chunk: Buffer, before: number): Buffer | 'cut' => {
  if (before >= limit) return 'cut'
  return before + chunk.length <= limit ? chunk : chunk.subarray(0, limit - before)
}

/** Flips one bit of the byte at `offset` in the stream, once. */
export const flipByteAt = (offset: number) => {
  const state = { flipped: false }
  const flip = (chunk: Buffer, before: number): Buffer => {
    const at = offset - before
    if (state.flipped || at < 0 || at >= chunk.length) return chunk
    state.flipped = true
    const copy = Buffer.from(chunk)
    copy[at] = copy[at]! ^ 0x01
    return copy
  }
  return Object.assign(flip, { state })
}
