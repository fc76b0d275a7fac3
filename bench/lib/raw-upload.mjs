// node bench/lib/raw-upload.mjs PORT FILE SERVER_PID : one `upload raw.bin` of FILE on one connection, written in
// 1 MiB chunks by a raw client (no tor client, no hashing), and what it cost the server: wall time from the command
// to `end`, the server process's CPU time (user + system, all threads, from /proc) and its peak RSS. For judging a
// change to the server's upload path by hand.
import * as fs from 'node:fs'
import * as net from 'node:net'

const [port, file, pid] = process.argv.slice(2)
const size = fs.statSync(file).size
const cpuMs = () => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const socket = net.connect(Number(port), '127.0.0.1')
let buffer = ''
const lines = []
let wake
socket.on('data', (chunk) => {
  buffer += chunk
  for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
    lines.push(buffer.slice(0, lf))
    buffer = buffer.slice(lf + 1)
  }
  wake?.()
})
const line = async () => {
  while (lines.length === 0) await new Promise((resolve) => (wake = resolve))
  return lines.shift()
}
await new Promise((resolve) => socket.once('connect', resolve))
const cpuBefore = cpuMs()
const started = performance.now()
socket.write(`upload raw.bin\n${size}\n`)
await line()
const ok = await line()
if (ok !== 'ok') throw new Error(`the server answered ${ok}`)
const fd = fs.openSync(file, 'r')
for (let sent = 0; sent < size; ) {
  const chunk = Buffer.allocUnsafe(Math.min(1 << 20, size - sent))
  sent += fs.readSync(fd, chunk, 0, chunk.length, sent)
  if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve))
}
const end = await line()
const wall = performance.now() - started
const peak = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
console.log(`${end}: ${wall.toFixed(0)} ms, server CPU ${cpuMs() - cpuBefore} ms, server peak RSS ${peak.toFixed(0)} MiB`)
socket.end('exit\n')
