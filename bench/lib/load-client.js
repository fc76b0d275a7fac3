import * as net from 'node:net'

/** A lean TFTCP client for load generation: line replies, listings, payloads, latency per command. */
export class LoadClient {
  constructor(socket) {
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    this.wake = undefined
    this.ended = false
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
      this.wake?.()
    })
    const end = () => ((this.ended = true), this.wake?.())
    socket.on('close', end)
    socket.on('error', end)
  }

  /** Connects from `localAddress` (any 127.x.y.z works on Linux loopback, so one machine can be many addresses). */
  static connect(port, localAddress) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true, localAddress })
      socket.once('error', reject)
      socket.once('connect', () => (socket.off('error', reject), resolve(new LoadClient(socket))))
    })
  }

  async more() {
    if (this.ended) throw new Error('connection closed')
    await new Promise((r) => (this.wake = r))
    this.wake = undefined
  }

  async line() {
    for (;;) {
      const lf = this.buffer.indexOf(10)
      if (lf >= 0) {
        const text = this.buffer.toString('utf8', 0, lf)
        this.buffer = this.buffer.subarray(lf + 1)
        return text
      }
      await this.more()
    }
  }

  /** Reads a listing up to `end`; resolves with [rows, ms to the first line]. */
  async listing(started) {
    const first = await this.line()
    const firstMs = performance.now() - started
    if (first !== 'ok') throw new Error(`listing answered ${first}`)
    let rows = 0
    for (;;) {
      const lf = this.buffer.lastIndexOf(10)
      // Count whole lines in bulk; stop at the `end` line.
      let start = 0
      for (let i = this.buffer.indexOf(10); i >= 0 && i <= lf; i = this.buffer.indexOf(10, i + 1)) {
        if (i - start === 3 && this.buffer.toString('latin1', start, i) === 'end') {
          this.buffer = this.buffer.subarray(i + 1)
          return [rows, firstMs]
        }
        rows++
        start = i + 1
      }
      this.buffer = this.buffer.subarray(start)
      await this.more()
    }
  }

  async skip(n) {
    while (this.buffer.length < n) {
      n -= this.buffer.length
      this.buffer = Buffer.alloc(0)
      await this.more()
    }
    this.buffer = this.buffer.subarray(n)
  }

  send(text) {
    this.socket.write(text)
  }

  /** One command and its whole reply; resolves with the latency in ms. */
  async command(kind, arg) {
    const started = performance.now()
    if (kind === 'show' || kind === 'search') {
      this.send(kind === 'show' ? 'show\n' : `search ${arg}\n`)
      const [rows, firstMs] = await this.listing(started)
      return { ms: performance.now() - started, firstMs, rows }
    }
    if (kind === 'download') {
      this.send(`download ${arg}\n`)
      const replies = [await this.line(), await this.line()]
      if (replies[1] !== 'found') throw new Error(`download answered ${replies.join(' ')}`)
      await this.skip(Number(await this.line()))
      return { ms: performance.now() - started }
    }
    if (kind === 'exit') {
      this.send('exit\n')
      await this.line()
      return { ms: performance.now() - started }
    }
    throw new Error(kind)
  }

  destroy() {
    this.socket.destroy()
  }
}
