// node bench/lib/pipelined-gets.mjs PORT get|download|gets NAME... : sends one `get 0 - NAME` (or `download NAME`)
// per name at once on one connection (or, with gets, the names in as few `gets` lines as fit 4096 bytes), reads every reply and its bytes, and prints the milliseconds from the
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
        // gets: one ok per line, before its first file.
        phase = verb === 'gets' && !lineStarts.has(done + 1) ? 'found' : 'ok'
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
// gets: the index of the first name of each line (each line is answered with one ok).
const lineStarts = new Set([0])
const getsLines = () => {
  const lines = []
  let current = []
  let bytes = 4
  for (const [i, name] of names.entries()) {
    if (current.length > 0 && bytes + Buffer.byteLength(name) + 1 > 4096) {
      lines.push(`gets ${current.join('\t')}\n`)
      lineStarts.add(i)
      current = []
      bytes = 4
    }
    current.push(name)
    bytes += Buffer.byteLength(name) + 1
  }
  lines.push(`gets ${current.join('\t')}\n`)
  return lines.join('')
}
socket.write(verb === 'gets' ? getsLines() : names.map((name) => (verb === 'get' ? `get 0 - ${name}\n` : `download ${name}\n`)).join(''))
const ms = await finished
socket.end('exit\n')
process.stdout.write(`${ms.toFixed(1)}\n`)
