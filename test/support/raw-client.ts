import * as net from 'node:net'
import * as tls from 'node:tls'

/**
 * A TFTCP client written for the tests only, with its own tiny parser, so the
 * server is checked against an independent reading of the protocol.
 */
export class RawClient {
  private buffer = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake?.()
    })
    const end = () => {
      this.ended = true
      this.wake?.()
    }
    socket.on('end', end)
    socket.on('close', end)
    socket.on('error', end)
  }

  static connect(port: number): Promise<RawClient> {
    return RawClient.whenReady(net.connect({ host: '127.0.0.1', port, noDelay: true }), 'connect')
  }

  /** Over TLS, trusting whatever certificate the server shows (the trust check is not what these tests are about). */
  static connectTls(port: number): Promise<RawClient> {
    return RawClient.whenReady(tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }), 'secureConnect')
  }

  private static whenReady(socket: net.Socket, readyEvent: 'connect' | 'secureConnect'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.once(readyEvent, () => {
        socket.off('error', reject)
        socket.setNoDelay(true)
        resolve(new RawClient(socket))
      })
    })
  }

  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())))
  }

  async line(): Promise<string> {
    for (;;) {
      const lf = this.buffer.indexOf(0x0a)
      if (lf >= 0) {
        const text = this.buffer.subarray(0, lf).toString('utf8')
        this.buffer = this.buffer.subarray(lf + 1)
        return text
      }
      if (this.ended) throw new Error(`connection ended; unread: ${JSON.stringify(this.buffer.toString())}`)
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.buffer.length < n) {
      if (this.ended) throw new Error(`connection ended after ${this.buffer.length} of ${n} bytes`)
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
    const out = this.buffer.subarray(0, n)
    this.buffer = this.buffer.subarray(n)
    return out
  }

  /** The lines of a listing reply: `ok`, rows, `end`. */
  async listing(): Promise<string[]> {
    const first = await this.line()
    if (first !== 'ok') throw new Error(`expected ok, got ${first}`)
    const rows: string[] = []
    for (let row = await this.line(); row !== 'end'; row = await this.line()) rows.push(row)
    return rows
  }

  /** Resolves when the server has closed the connection. */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve))
  }

  /** Shuts down the sending side (as `nc -q`, scripts and many libraries do); replies still arrive. */
  halfClose(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve))
  }

  /** Everything the server sends until it closes the connection. */
  async rest(): Promise<Buffer> {
    await this.closed()
    const out = this.buffer
    this.buffer = Buffer.alloc(0)
    return out
  }

  get unread(): number {
    return this.buffer.length
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export const names = (rows: string[]) => rows.map((row) => row.split('\t')[0])
