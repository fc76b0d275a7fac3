import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import * as readline from 'node:readline'
import { CommandFailed, type TorClient } from '../actors/client-runtime.js'
import { parseCommand, type Command } from '../protocol/index.js'
import { describeTransfer, formatListing } from './format.js'
import { createProgressBar } from './progress.js'

export const SHELL_HELP = [
  'Commands:',
  '  show              list the files on the server',
  '  search <text>     list the files whose name contains <text> (case-sensitive)',
  '  download <file>   download <file> into the Downloads folder',
  '  upload <file>     upload <file> from the Uploads folder',
  '  help              this help',
  '  exit              disconnect and quit',
  'Tab completes commands, file names from the last listing (download) and from Uploads (upload).',
]

const VERBS = ['show', 'search ', 'download ', 'upload ', 'help', 'exit']
const HISTORY_FILE = '.tor_history'
const HISTORY_SIZE = 500

export interface ShellIO {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean }
  readonly output: NodeJS.WritableStream
  readonly print: (line: string) => void
  readonly printError: (line: string) => void
}

/**
 * The interactive prompt of `tor client connect`. Runs commands one at a time;
 * returns 0 after `exit` or end of input, 1 when the server closed the connection.
 */
export const runShell = async (client: TorClient, dir: string, io: ShellIO): Promise<number> => {
  const terminal = Boolean(io.input.isTTY)
  const historyPath = path.join(dir, HISTORY_FILE)
  let knownNames: string[] = []

  const completer = (line: string): [string[], string] => {
    const space = line.indexOf(' ')
    if (space < 0) {
      const hits = VERBS.filter((verb) => verb.startsWith(line))
      return [hits.length ? hits : VERBS, line]
    }
    const verb = line.slice(0, space)
    const partial = line.slice(space + 1)
    const names = verb === 'download' ? knownNames : verb === 'upload' ? safeReaddir(client.folders.uploads) : []
    return [names.filter((name) => name.startsWith(partial)), partial]
  }

  const rl = readline.createInterface({
    input: io.input,
    output: terminal ? io.output : undefined,
    terminal,
    completer,
    historySize: HISTORY_SIZE,
    history: terminal ? loadHistory(historyPath) : [],
    removeHistoryDuplicates: true,
  })
  rl.setPrompt('tor> ')

  const run = async (command: Command) => {
    const outcome = await client.run(command, command.verb === 'download' || command.verb === 'upload' ? createProgressBar() : undefined)
    if (outcome.kind === 'listing') {
      knownNames = outcome.entries.map((e) => e.name)
      const empty = command.verb === 'search' ? `No file name contains "${command.text}".` : 'The server has no files yet.'
      formatListing(outcome.entries, empty).forEach(io.print)
    } else if (outcome.kind === 'transferred') {
      io.print(describeTransfer(outcome, client.folders.downloads))
    }
  }

  if (terminal) rl.prompt()
  for await (const raw of rl) {
    const line = raw.trim()
    if (line && terminal) appendHistory(historyPath, line)
    if (line === '') {
      if (terminal) rl.prompt()
      continue
    }
    if (line === 'help' || line === '?') {
      SHELL_HELP.forEach(io.print)
      if (terminal) rl.prompt()
      continue
    }
    const command = parseCommand(line)
    if (command.verb === 'unknown') {
      io.printError(`Unknown command "${line}". Type help for the commands.`)
      if (terminal) rl.prompt()
      continue
    }
    try {
      await run(command)
      if (command.verb === 'exit') break
    } catch (error) {
      // A plain "connection closed" is said below in a person's words.
      const closed = error instanceof CommandFailed && error.code === 'TOR_ERR_PEER_CLOSED'
      if (!closed) io.printError(error instanceof CommandFailed ? error.message : String(error))
    }
    if (!client.connected) {
      io.printError('The server closed the connection.')
      rl.close()
      return 1
    }
    if (terminal) rl.prompt()
  }
  rl.close()
  return 0
}

const safeReaddir = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('.'))
  } catch {
    return []
  }
}

/** readline wants the newest entry first. */
const loadHistory = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse()
  } catch {
    return []
  }
}

const appendHistory = (file: string, line: string): void => {
  try {
    appendFileSync(file, `${line}\n`)
  } catch {
    // History is a convenience: a read-only folder must not break the prompt.
  }
}
