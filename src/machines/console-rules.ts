/** What the operator sees of one connected client. */
export interface ClientRow {
  readonly id: string
  readonly address: string
  readonly port: number
  readonly state: string
  readonly connectedAt: number
}

export type ConsoleDecision =
  | { readonly action: 'print'; readonly lines: readonly string[] }
  | { readonly action: 'clear' }
  | { readonly action: 'stop' }

export const CONSOLE_HELP = [
  'Commands:',
  '  list   the connected clients (address, port, state) and how many are online',
  '  clear  clear the terminal',
  '  exit   stop the server (only when no client is online)',
  '  help   this help',
]

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

export const formatClientTable = (clients: readonly ClientRow[], now: number): string[] => {
  const online = `${plural(clients.length, 'client')} online`
  if (clients.length === 0) return [online]
  const header = ['CLIENT', 'ADDRESS', 'PORT', 'STATE', 'CONNECTED']
  const rows = clients.map((c) => [
    c.id,
    c.address,
    String(c.port),
    c.state,
    `${Math.max(0, Math.round((now - c.connectedAt) / 1000))}s ago`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const format = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [format(header), ...rows.map(format), online]
}

/** The answer to one line typed at the admin console. Pure. */
export const decideConsole = (line: string, clients: readonly ClientRow[], now: number): ConsoleDecision => {
  const command = line.trim()
  switch (command) {
    case '':
      return { action: 'print', lines: [] }
    case 'list':
      return { action: 'print', lines: formatClientTable(clients, now) }
    case 'clear':
      return { action: 'clear' }
    case 'help':
      return { action: 'print', lines: CONSOLE_HELP }
    case 'exit':
      return clients.length === 0
        ? { action: 'stop' }
        : {
            action: 'print',
            lines: [
              `Cannot stop: ${plural(clients.length, 'client')} online. Wait for ${clients.length === 1 ? 'it' : 'them'} to exit, or press Ctrl-C to stop anyway.`,
            ],
          }
    default:
      return { action: 'print', lines: [`Unknown command "${command}". Type help for the commands.`] }
  }
}
