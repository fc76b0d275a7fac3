import { describe, expect, it } from 'vitest'
import { decideConsole, formatClientTable, type ConsoleDecision } from '../../src/machines/console-rules.js'

const printed = (d: ConsoleDecision) => (d.action === 'print' ? d.lines : [])

const client = { id: 'client-1', address: '127.0.0.1', port: 5000, state: 'awaitingCommand', connectedAt: 0 }

describe('admin console', () => {
  it('lists the connections with address, port and state, and how many are online', () => {
    const lines = formatClientTable([client], 3000)
    expect(lines[0]).toMatch(/CLIENT\s+ADDRESS\s+PORT\s+STATE/)
    expect(lines[1]).toMatch(/client-1\s+127\.0\.0\.1\s+5000\s+awaitingCommand\s+3s ago/)
    expect(lines.at(-1)).toBe('1 client online')
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
