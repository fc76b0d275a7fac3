import * as readline from 'node:readline'
import type { RunningServer } from '../actors/server-runtime.js'

/**
 * The operator's console on stdin: works on a terminal (prompt, history, Tab
 * completion) and on a pipe (one command per line). End of input does not stop
 * the server.
 */
export const attachConsole = (
  server: RunningServer,
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  output: NodeJS.WritableStream,
  say: (line: string) => void,
  /** Ctrl-C typed at the console (a terminal in raw mode sends no SIGINT of its own). */
  onInterrupt: () => void,
) => {
  const terminal = Boolean(input.isTTY)
  const rl = readline.createInterface({
    input,
    output: terminal ? output : undefined,
    terminal,
    historySize: 200,
    completer: (line: string) => {
      const commands = ['list', 'clear', 'exit', 'help']
      const hits = commands.filter((c) => c.startsWith(line.trim()))
      return [hits.length ? hits : commands, line]
    },
  })
  if (terminal) {
    rl.setPrompt('tor-server> ')
    rl.prompt()
  }
  rl.on('SIGINT', onInterrupt)
  rl.on('line', (line) => {
    server.consoleLine(line)
    if (terminal) rl.prompt()
  })
  rl.on('close', () => {
    if (!terminal) say('Console input ended; the server goes on. Stop it with Ctrl-C or SIGTERM.')
  })
  /** Prints a line without mangling a half-typed console command. */
  const print = (line: string) => {
    if (!terminal) return say(line)
    readline.clearLine(output, 0)
    readline.cursorTo(output, 0)
    say(line)
    rl.prompt(true)
  }
  const close = () => {
    if (terminal) {
      readline.clearLine(output, 0)
      readline.cursorTo(output, 0)
    }
    rl.close()
  }
  return { print, close }
}
