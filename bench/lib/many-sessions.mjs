// node bench/lib/many-sessions.mjs PORT COUNT : opens COUNT connections (500 at a time: more at once overflow the
// listen backlog), each answering `show`, keeps them all open, then says `exit` on all and waits for every close.
// Prints the time of both phases: what connecting and disconnecting cost the server as the number of sessions grows.
// (The server needs --max-clients and --max-per-ip above COUNT.)
import * as net from 'node:net'

const [port, count] = process.argv.slice(2).map(Number)
const sockets = []
const session = () =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let replies = ''
    socket.on('error', reject)
    socket.on('data', (chunk) => {
      replies += chunk
      if (/(^|\n)end\n/.test(replies) || replies.startsWith('error')) {
        socket.removeAllListeners('data')
        resolve()
      }
    })
    socket.on('connect', () => socket.write('show\n'))
    sockets.push(socket)
  })
let started = performance.now()
for (let i = 0; i < count; i += 500) await Promise.all(Array.from({ length: Math.min(500, count - i) }, session))
const connected = performance.now() - started
started = performance.now()
await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.on('close', resolve), socket.end('exit\n')))))
console.log(`${count} sessions: connect and show ${connected.toFixed(0)} ms, exit and close ${(performance.now() - started).toFixed(0)} ms`)
