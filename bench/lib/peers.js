import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { freePort, has, startProcess, timed } from './util.js'

/**
 * The baselines that move the same bytes: socat, a minimal Node net pipeline, and
 * the FTP servers people would pick instead (vsftpd, pyftpdlib) driven by curl.
 * Each `download(out)` / `upload(file)` resolves with the client's wall time in ms.
 */

const RAW_NODE_SERVER = `
import net from 'node:net'; import fs from 'node:fs'; import { pipeline } from 'node:stream/promises'
const [mode, file, port] = process.argv.slice(2)
const server = net.createServer(async (socket) => {
  if (mode === 'send') await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), socket)
  else await pipeline(socket, fs.createWriteStream(file, { highWaterMark: 1 << 20 }))
  process.exit(0)
})
server.listen(Number(port), '127.0.0.1', () => console.log('ready'))
`
const RAW_NODE_CLIENT = `
import net from 'node:net'; import fs from 'node:fs'; import { pipeline } from 'node:stream/promises'
const [mode, file, port] = process.argv.slice(2)
const socket = net.connect(Number(port), '127.0.0.1')
if (mode === 'receive') await pipeline(socket, fs.createWriteStream(file, { highWaterMark: 1 << 20 }))
else await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), socket)
`

const exited = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.removeAllListeners('close')
    child.once('close', () => resolve())
  })

export const socatPeer = (work) => {
  if (!has('socat')) return { name: 'socat', missing: 'not installed (apt-get install socat)' }
  return {
    name: 'socat',
    async download(source, out) {
      const port = await freePort()
      const server = await startProcess('sh', ['-c', `socat -u -b 1048576 FILE:${source} TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr & sleep 0.05; echo ready; wait`], /ready/)
      await waitForPort(port)
      const ms = await timed('socat', ['-u', '-b', '1048576', `TCP:127.0.0.1:${port}`, `CREATE:${out}`])
      await server.stop()
      return ms
    },
    async upload(file, out) {
      const port = await freePort()
      const server = await startProcess('sh', ['-c', `socat -u -b 1048576 TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr CREATE:${out} & sleep 0.05; echo ready; wait`], /ready/)
      await waitForPort(port)
      // Until the receiving side has written everything and exited, as tor's `end` and FTP's 226 mean.
      const stored = exited(server.child)
      const started = performance.now()
      await timed('socat', ['-u', '-b', '1048576', `FILE:${file}`, `TCP:127.0.0.1:${port}`])
      await stored
      return performance.now() - started
    },
  }
}

export const rawNodePeer = (work) => {
  const server = path.join(work, 'raw-server.mjs')
  const client = path.join(work, 'raw-client.mjs')
  writeFileSync(server, RAW_NODE_SERVER)
  writeFileSync(client, RAW_NODE_CLIENT)
  return {
    name: 'node net',
    async download(source, out) {
      const port = await freePort()
      const s = await startProcess(process.execPath, [server, 'send', source, String(port)], /ready/)
      const ms = await timed(process.execPath, [client, 'receive', out, String(port)])
      await s.stop()
      return ms
    },
    async upload(file, out) {
      const port = await freePort()
      const s = await startProcess(process.execPath, [server, 'receive', out, String(port)], /ready/)
      const stored = exited(s.child)
      const started = performance.now()
      await timed(process.execPath, [client, 'send', file, String(port)])
      await stored
      return performance.now() - started
    },
  }
}

/** An FTP server on loopback with an anonymous, writable `pub` folder holding the test files. */
const ftpPeer = (name, start, curlArgs = []) => ({
  name,
  server: undefined,
  async ensure(pub) {
    this.server ??= await start(pub)
    return this.server
  },
  async download(source, out, pub) {
    const { port } = await this.ensure(pub)
    return timed('curl', [...curlArgs, '-s', '-S', '-o', out, `ftp://127.0.0.1:${port}/pub/${path.basename(source)}`])
  },
  async upload(file, _out, pub) {
    const { port } = await this.ensure(pub)
    return timed('curl', [...curlArgs, '-s', '-S', '-T', file, `ftp://127.0.0.1:${port}/pub/uploaded-${name}.bin`])
  },
  async stop() {
    await this.server?.stop()
  },
})

/** vsftpd in clear text, or with `tls` explicit FTPS (AUTH TLS, control and data encrypted; curl --ssl-reqd). */
export const vsftpdPeer = (work, { tls = false } = {}) => {
  const name = tls ? 'vsftpd-ftps' : 'vsftpd'
  if (!has('vsftpd') || !has('curl')) return { name, missing: 'not installed (apt-get install vsftpd curl)' }
  if (tls && !has('openssl')) return { name, missing: 'openssl not installed (apt-get install openssl)' }
  return ftpPeer(name, async (pub) => {
    const port = await freePort()
    const conf = path.join(work, `${name}.conf`)
    const tlsLines = []
    if (tls) {
      const cert = path.join(work, 'ftps-cert.pem')
      const key = path.join(work, 'ftps-key.pem')
      require_('child_process').execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', key, '-out', cert, '-days', '1'], { stdio: 'ignore' })
      tlsLines.push('ssl_enable=YES', `rsa_cert_file=${cert}`, `rsa_private_key_file=${key}`, 'allow_anon_ssl=YES', 'force_anon_data_ssl=YES', 'force_anon_logins_ssl=YES', 'ssl_sslv2=NO', 'ssl_sslv3=NO', 'require_ssl_reuse=NO', 'ssl_ciphers=HIGH')
    }
    writeFileSync(
      conf,
      [
        'listen=YES', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
        'anonymous_enable=YES', 'local_enable=NO', `anon_root=${path.dirname(pub)}`, 'no_anon_password=YES',
        'write_enable=YES', 'anon_upload_enable=YES', 'anon_other_write_enable=YES', 'anon_umask=022',
        'seccomp_sandbox=NO', 'pasv_enable=YES', 'pasv_address=127.0.0.1', 'xferlog_enable=NO',
        'secure_chroot_dir=/var/run/vsftpd/empty', 'use_sendfile=YES',
        ...tlsLines,
      ].join('\n') + '\n',
    )
    const server = await startProcess('sh', ['-c', `vsftpd ${conf} & sleep 0.3; echo ready; wait`], /ready/)
    await waitForPort(port)
    return { port, stop: server.stop }
  }, tls ? ['--ssl-reqd', '-k'] : [])
}

export const pyftpdlibPeer = (work) => {
  const python = '/usr/bin/python3'
  const ok = has(python) && has('curl') && startCheck(python)
  if (!ok) return { name: 'pyftpdlib', missing: 'not installed (apt-get install python3-pyftpdlib curl)' }
  return ftpPeer('pyftpdlib', async (pub) => {
    const port = await freePort()
    const server = await startProcess(python, ['-m', 'pyftpdlib', '-i', '127.0.0.1', '-p', String(port), '-d', path.dirname(pub), '-w'], /(starting FTP server|concurrency model)/)
    await waitForPort(port)
    return { port, stop: server.stop }
  })
}

const startCheck = (python) => {
  try {
    return require_('child_process').spawnSync(python, ['-c', 'import pyftpdlib']).status === 0
  } catch {
    return false
  }
}
import { createRequire } from 'node:module'
const require_ = createRequire(import.meta.url)

/** Waits until something listens on the port, without connecting (socat serves one connection only). */
export const waitForPort = async (port) => {
  const { readFileSync } = await import('node:fs')
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (let i = 0; i < 400; i++) {
    const table = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8')
    if (table.split('\n').some((row) => row.includes(`:${hex} `) && / 0A /.test(row))) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`nothing listens on ${port}`)
}

export const preparePub = (work) => {
  const pub = path.join(work, 'ftp', 'pub')
  mkdirSync(pub, { recursive: true })
  chmodSync(pub, 0o777) // anonymous FTP uploads write here as the ftp user
  return pub
}
