import * as net from 'node:net'

/** What a fake server does with one command line: write text, write text and close, or nothing. */
export type FakeReply = string | { readonly end: string } | undefined

/**
 * A fake TFTCP server written for the tests (a hostile or broken one): `reply` decides
 * what each command line gets. Listens on port 0; close it when done. It speaks the
 * seed protocol: a `get` line is answered as an unknown command (so the client falls
 * back to `download`) unless `reply` handles it.
 */
export const fakeServer = async (reply: (line: string, socket: net.Socket) => FakeReply): Promise<{ port: number; server: net.Server }> => {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined)
    let buffer = ''
    socket.on('data', (chunk) => {
      buffer += chunk.toString()
      for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
        const line = buffer.slice(0, lf)
        buffer = buffer.slice(lf + 1)
        // A seed server answers the commands it does not know (get, gets, features) as unknown.
        const unknown = line.startsWith('get ') || line.startsWith('gets ') || line === 'features'
        const answer = reply(line, socket) ?? (unknown ? 'This command does not exist, rewrite\n' : undefined)
        if (typeof answer === 'string') socket.write(answer)
        else if (answer) socket.end(answer.end)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, server }
}
