// node bench/lib/round-trips.mjs PORT MS : sends `search x` on one connection, one after the other, for MS
// milliseconds, and prints how many round trips that was and their p50, p99 and maximum (how fast a server
// answers while it is busy with something else: hashing a new file, say).
import * as net from 'node:net'

const [port, duration] = process.argv.slice(2).map(Number)
const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
let buffer = ''
let answered = () => undefined
socket.on('data', (chunk) => {
  buffer += chunk
  if (buffer.endsWith('end\n')) {
    buffer = ''
    answered()
  }
})
const latencies = []
const end = performance.now() + duration
while (performance.now() < end) {
  const started = performance.now()
  socket.write('search x\n')
  await new Promise((resolve) => (answered = resolve))
  latencies.push(performance.now() - started)
}
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))].toFixed(2)
console.log(`${latencies.length} round trips: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1).toFixed(2)} ms`)
socket.destroy()
