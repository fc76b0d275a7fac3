import { describe, expect, it } from 'vitest'
import { initialTransition, transition } from 'xstate'
import { decideConsole, formatClientTable, type ConsoleDecision } from '../../src/machines/console-rules.js'
import { clientRows } from '../../src/machines/server.js'
import { serverSessionMachine } from '../../src/machines/server-session.js'

const printed = (d: ConsoleDecision) => (d.action === 'print' ? d.lines : [])

const client = { id: 'client-1', address: '127.0.0.1', port: 5000, state: 'awaitingCommand', connectedAt: 0, account: undefined, tls: false, idleSince: 1000, transfer: undefined }

describe('admin console', () => {
  it('lists the connections with address, port and state, and how many are online', () => {
    const lines = formatClientTable([client], 3000)
    expect(lines[0]).toMatch(/CLIENT\s+ADDRESS\s+PORT\s+ACCOUNT\s+TLS\s+STATE/)
    expect(lines[1]).toMatch(/client-1\s+127\.0\.0\.1\s+5000\s+anonymous\s+no\s+awaitingCommand\s+3s ago\s+2s\s+-$/)
    expect(formatClientTable([{ ...client, account: 'bob', tls: true }], 3000)[1]).toMatch(/5000\s+bob\s+yes\s+awaitingCommand/)
    expect(lines.at(-1)).toBe('1 client online')
  })

  it('shows the transfer in progress with bytes done of total, and no idle time while busy', () => {
    const busy = { ...client, state: 'transferring.receivingFile.progressing', idleSince: undefined, transfer: { direction: 'upload' as const, name: 'big.iso', done: 1024 * 1024, size: 4 * 1024 * 1024 } }
    expect(formatClientTable([busy], 3000)[1]).toMatch(/\s-\s+upload big\.iso 1\.0 MiB of 4\.0 MiB$/)
  })

  it('shows what a gets or a stores has moved so far, with no total', () => {
    const many = { ...client, state: 'sendingMany.progressing', idleSince: undefined, transfer: { direction: 'download' as const, name: '300 files (gets)', done: 3 * 1024 * 1024 } }
    expect(formatClientTable([many], 3000)[1]).toMatch(/\s-\s+download 300 files \(gets\) 3\.0 MiB$/)
  })

  it('kicks an online client by id, and says so when there is none by that id', () => {
    expect(decideConsole('kick client-1', [client], 0)).toEqual({ action: 'kick', clientId: 'client-1', lines: ['Kicked client-1.'] })
    expect(printed(decideConsole('kick client-9', [client], 0))[0]).toMatch(/No client "client-9" is online/)
    expect(printed(decideConsole('kick', [client], 0))[0]).toMatch(/^Usage: kick <client>/)
  })

  it('stops on exit only when no client is online', () => {
    expect(decideConsole('exit', [], 0)).toEqual({ action: 'stop' })
    const refused = decideConsole('exit', [client, { ...client, id: 'client-2' }], 0)
    expect(refused).toMatchObject({ action: 'print' })
    expect(printed(refused)[0]).toMatch(/2 clients online/)
  })

  it('clears, helps, and explains an unknown command', () => {
    expect(decideConsole('clear', [], 0)).toEqual({ action: 'clear' })
    expect(decideConsole('help', [], 0)).toMatchObject({ action: 'print' })
    expect(printed(decideConsole('dance', [], 0))[0]).toMatch(/Unknown command "dance"/)
  })
})

describe('the rows of the admin console, read off the sessions', () => {
  it('show a gets in progress with the bytes it has sent so far', () => {
    const input = { clientId: 'client-1', limits: { maxUploadBytes: 1000, idleTimeoutMs: 300_000, stallTimeoutMs: 60_000, maxRefusals: 32, anonymous: ['read'] as const, loginDelayMs: 500, maxFailedLogins: 3 } }
    let [snapshot] = initialTransition(serverSessionMachine, input as never)
    ;[snapshot] = transition(serverSessionMachine, snapshot, { type: 'xstate.done.actor.readCommand', output: { _tag: 'Line', text: 'gets a\tb\tc' } } as never)
    ;[snapshot] = transition(serverSessionMachine, snapshot, { type: 'io.progress', bytes: 2048 })
    const online = { id: 'client-1', address: '127.0.0.1', port: 5000, connectedAt: 0, tls: false, ref: { getSnapshot: () => snapshot } }
    const [row] = clientRows(new Map([['client-1', online]]) as never)
    expect(row).toMatchObject({ state: 'sendingMany.progressing', transfer: { direction: 'download', name: '3 files (gets)', done: 2048 } })
  })
})
