import { formatBytes } from '../text/units.js'

/** What the operator sees of one connected client. */
export interface ClientRow {
  readonly id: string
  readonly address: string
  readonly port: number
  readonly state: string
  readonly connectedAt: number
  /** The account logged in, or undefined (anonymous). */
  readonly account: string | undefined
  /** Came over TLS. */
  readonly tls: boolean
  /** Since when it has been waiting for a command; undefined while it is busy. */
  readonly idleSince: number | undefined
  /** The transfer in progress: name (or what a gets or stores moves), bytes done (as last reported) and total, when known. */
  readonly transfer: { readonly direction: 'download' | 'upload'; readonly name: string; readonly done: number; readonly size?: number } | undefined
}

export type ConsoleDecision =
  | { readonly action: 'print'; readonly lines: readonly string[] }
  | { readonly action: 'clear' }
  | { readonly action: 'stop' }
  | { readonly action: 'kick'; readonly clientId: string; readonly lines: readonly string[] }

export const CONSOLE_HELP = [
  'Commands:',
  '  list          the connected clients: address, port, state, idle time, transfer in progress',
  '  kick <client> end one session now (its transfer is aborted, nothing partial is kept)',
  '  clear         clear the terminal',
  '  exit          stop the server (only when no client is online)',
  '  help          this help',
]

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))}s`

// Names come from clients: control and escape characters must not reach the operator's terminal.
// eslint-disable-next-line no-control-regex
const printable = (name: string) => name.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '?')

export const formatClientTable = (clients: readonly ClientRow[], now: number): string[] => {
  const online = `${plural(clients.length, 'client')} online`
  if (clients.length === 0) return [online]
  const header = ['CLIENT', 'ADDRESS', 'PORT', 'ACCOUNT', 'TLS', 'STATE', 'CONNECTED', 'IDLE', 'TRANSFER']
  const rows = clients.map((c) => [
    c.id,
    c.address,
    String(c.port),
    c.account ?? 'anonymous',
    c.tls ? 'yes' : 'no',
    c.state,
    `${seconds(now - c.connectedAt)} ago`,
    c.idleSince === undefined ? '-' : seconds(now - c.idleSince),
    c.transfer
      ? `${c.transfer.direction} ${printable(c.transfer.name)} ${formatBytes(c.transfer.done)}${c.transfer.size === undefined ? '' : ` of ${formatBytes(c.transfer.size)}`}`
      : '-',
  ])
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length))
  const format = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [format(header), ...rows.map(format), online]
}

/** The answer to one line typed at the admin console. Pure. */
export const decideConsole = (line: string, clients: readonly ClientRow[], now: number): ConsoleDecision => {
  const [command = '', ...args] = line.trim().split(/\s+/)
  switch (command) {
    case '':
      return { action: 'print', lines: [] }
    case 'list':
      return { action: 'print', lines: formatClientTable(clients, now) }
    case 'clear':
      return { action: 'clear' }
    case 'help':
      return { action: 'print', lines: CONSOLE_HELP }
    case 'kick': {
      const id = args[0]
      if (id === undefined || args.length > 1) return { action: 'print', lines: ['Usage: kick <client>, e.g. kick client-3 (list shows the clients).'] }
      if (!clients.some((c) => c.id === id)) return { action: 'print', lines: [`No client "${printable(id)}" is online. Type list to see the clients.`] }
      return { action: 'kick', clientId: id, lines: [`Kicked ${id}.`] }
    }
    case 'exit':
      return clients.length === 0
        ? { action: 'stop' }
        : {
            action: 'print',
            lines: [
              `Cannot stop: ${plural(clients.length, 'client')} online. Wait for ${clients.length === 1 ? 'it' : 'them'} to exit, kick them, or press Ctrl-C to stop (transfers in flight finish first).`,
            ],
          }
    default:
      return { action: 'print', lines: [`Unknown command "${printable(line.trim())}". Type help for the commands.`] }
  }
}
