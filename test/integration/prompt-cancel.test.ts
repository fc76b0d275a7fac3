import type * as net from 'node:net'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TorClient } from '../../src/actors/client-runtime.js'
import { runShell } from '../../src/cli/client-shell.js'
import { fakeServer } from '../support/hostile-server.js'
import { makeTempDir, waitForFolder } from '../support/server.js'
import { fakeTerminal } from '../support/terminal.js'

const peers: net.Server[] = []
afterEach(() => peers.splice(0).forEach((p) => p.close()))

/** A server whose downloads announce 1,000,000 bytes, send 10, then stall; show lists one file. */
const stallingServer = async (): Promise<number> => {
  const { port, server } = await fakeServer((line) =>
    line === 'show'
      ? 'ok\nbig.bin\t1000000\t2026-11-24T10:00:00.000Z\nend\n'
      : line.startsWith('download')
        ? 'ok\nfound\n1000000\n0123456789'
        : line === 'exit'
          ? { end: 'exit\n' }
          : undefined,
  )
  peers.push(server)
  return port
}

describe('the prompt of tor client connect', () => {
  it('cancels a transfer on Ctrl-C, keeps nothing partial, connects again, and goes on', async () => {
    const port = await stallingServer()
    const dir = await makeTempDir('tor-prompt-')
    const connect = () => TorClient.connect({ host: '127.0.0.1', port, dir })
    let current = await connect()
    const term = fakeTerminal()
    const finished = runShell(current, dir, term.io, async () => (current = await connect()))
    term.type('download big.bin\r')
    const downloads = path.join(dir, 'Downloads')
    await waitForFolder(downloads, (names) => names.some((n) => n.startsWith('.tor-download-')))
    term.type('\u0003')
    await term.said(/Cancelled; nothing partial was kept\. Connected again\./)
    expect(await waitForFolder(downloads, (names) => names.length === 0)).toEqual([])
    term.type('show\r')
    await term.said(/^1 file, /)
    term.type('exit\r')
    expect(await finished).toBe(0)
    await current.close()
  })
})
