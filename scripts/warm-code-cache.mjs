// Makes dist/fast-client.cjs.cache, the V8 code cache the one-shot client starts from (see
// src/cli/cached-script.cts): in one process, the bundle is loaded through the cache's loader
// (which writes the cache when this process exits) and runs show, a small download and a small
// upload against a server started for it, so the cache holds what a command compiles on its way,
// not only the bundle's top level. Measured against `node -e 0` (61-62 ms), alternating, 40-50
// runs each: `tor client show` 98-100 ms from a cache made by a failed connect, 93-95 ms from this
// one; a small download 105 ms against 99-100 ms. A cache made with large transfers and batches
// as well was a third larger and no faster (V8 reads all of it at each start). Run by
// bundle-commands.mjs.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import * as path from 'node:path'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const work = mkdtempSync(path.join(tmpdir(), 'tor-warm-'))
const served = path.join(work, 'served')
const client = path.join(work, 'client')
mkdirSync(served)
mkdirSync(path.join(client, 'Uploads'), { recursive: true })
writeFileSync(path.join(served, 'notes.txt'), 'notes\n')
writeFileSync(path.join(client, 'Uploads', 'up.txt'), 'up\n')

const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TOR_')))
const server = spawn(process.execPath, [path.join(root, 'bin/run.cjs'), 'server', 'start', '--host', '127.0.0.1', '--port', '0', '--dir', served, '--no-console'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
// A command that fails ends this process through oclif's error handler (process.exit): the server goes with it.
process.on('exit', () => {
  server.kill()
  rmSync(work, { recursive: true, force: true })
})
try {
  const port = await new Promise((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (chunk) => {
      out += chunk
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (match) resolve(match[1])
    })
    server.once('exit', (code) => reject(new Error(`the server for the code cache exited (${code})`)))
  })
  for (const name of Object.keys(process.env)) if (name.startsWith('TOR_')) delete process.env[name]
  const { loadWithCodeCache } = require(path.join(root, 'dist/cli/cached-script.cjs'))
  const { runWithoutOclif } = loadWithCodeCache(path.join(root, 'dist/fast-client.cjs'))
  const where = ['--host', '127.0.0.1', '--port', port, '--dir', client]
  // The commands print as they would for a user: nobody reads it here.
  const write = process.stdout.write
  process.stdout.write = process.stderr.write = () => true
  try {
    for (const [command, ...argv] of [['show'], ['download', 'notes.txt'], ['upload', 'up.txt']]) {
      if (!(await runWithoutOclif(command, [...argv, ...where]))) throw new Error(`tor client ${command} was left to oclif`)
    }
  } finally {
    process.stdout.write = process.stderr.write = write
  }
  if (process.exitCode) throw new Error(`a command for the code cache failed (exit code ${process.exitCode})`)
} finally {
  server.kill()
  rmSync(work, { recursive: true, force: true })
}
