// node bench/lib/pipelined-gets.mjs PORT get|download NAME... : sends one `get 0 - NAME` (or `download NAME`)
// per name at once on one connection, reads every reply and its bytes, and prints the milliseconds from the
// first line sent to the last byte received (a raw client: what the server's per-file work costs, without
// tor's client).
import * as net from 'node:net'

const [port, verb, ...names] = process.argv.slice(2)
const socket = net.connect({ host: '127.0.0.1', port: Number(port), noDelay: true })
await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))

let buffer = Buffer.alloc(0)
let index = 0
let phase = 'ok' // ok -> found -> size -> bytes
let remaining = 0
let done = 0
const started = performance.now()
const finished = new Promise((resolve, reject) => {
  socket.on('error', reject)
  socket.on('close', () => reject(new Error(`connection closed after ${done} of ${names.length} files`)))
  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk
    let at = 0
    for (;;) {
      if (phase === 'bytes') {
        const take = Math.min(remaining, buffer.length - at)
        remaining -= take
        at += take
        if (remaining > 0) break
        phase = 'ok'
        if (++done === names.length) return resolve(performance.now() - started)
        continue
      }
      const lf = buffer.indexOf(0x0a, at)
      if (lf < 0) break
      const line = buffer.toString('latin1', at, lf)
      at = lf + 1
      if (phase === 'ok') {
        if (line !== 'ok') return reject(new Error(`file ${index}: expected ok, got ${JSON.stringify(line)}`))
        phase = 'found'
      } else if (phase === 'found') {
        if (line !== 'found') return reject(new Error(`file ${index}: expected found, got ${JSON.stringify(line)}`))
        phase = 'size'
      } else {
        // get: `<size> <sha256> <from>`; download: `<size>`.
        remaining = Number(line.split(' ')[0])
        index++
        phase = 'bytes'
      }
    }
    buffer = buffer.subarray(at)
  })
})
socket.write(names.map((name) => (verb === 'get' ? `get 0 - ${name}\n` : `download ${name}\n`)).join(''))
const ms = await finished
socket.end('exit\n')
process.stdout.write(`${ms.toFixed(1)}\n`)
