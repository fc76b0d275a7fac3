// The "raw socket" baseline for the control-path scenarios: the same TFTCP subset
// (show, search, download, exit) on a bare Node net server, no machines, no Effect,
// no catalog: readdir and stat per listing, as a first implementation would do.
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'

const [dir, port] = process.argv.slice(2)

const listing = async (search) => {
  const names = (await fs.promises.readdir(dir)).filter((n) => !n.startsWith('.') && (search === undefined || n.includes(search))).sort()
  const rows = []
  for (const name of names) {
    const st = await fs.promises.stat(path.join(dir, name))
    if (st.isFile()) rows.push(`${name}\t${st.size}\t${new Date(st.mtimeMs).toISOString()}`)
  }
  return rows
}

net
  .createServer({ noDelay: true }, (socket) => {
    let buffer = ''
    let busy = Promise.resolve()
    socket.on('error', () => undefined)
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8')
      let lf
      while ((lf = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, lf).replace(/\r$/, '')
        buffer = buffer.slice(lf + 1)
        busy = busy.then(() => handle(socket, line))
      }
    })
  })
  .listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`))

const handle = async (socket, line) => {
  if (line === 'show' || line.startsWith('search ')) {
    const rows = await listing(line === 'show' ? undefined : line.slice(7))
    socket.write(['ok', ...rows, 'end'].join('\n') + '\n')
  } else if (line.startsWith('download ')) {
    const file = path.join(dir, line.slice(9))
    const st = await fs.promises.stat(file).catch(() => undefined)
    if (!st) return void socket.write('ok\nNot found file\n')
    socket.write(`ok\nfound\n${st.size}\n`)
    await new Promise((resolve) => fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('end', resolve).pipe(socket, { end: false }))
  } else if (line === 'exit') {
    socket.end('exit\n')
  } else socket.write('This command does not exist, rewrite\n')
}
