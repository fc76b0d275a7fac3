import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import * as readline from 'node:readline'
import type { TorClient } from '../actors/client-runtime.js'
import { asTorError } from '../errors.js'
import { parseCommand, visible, type Command } from '../protocol/index.js'
import { matchNames, runBatch } from '../actors/client-batch.js'
import { batchFailureLines } from './kept-part.js'
import { createBatchDisplay } from './batch-display.js'
import { describeBatch, describeTransfer, formatListing } from './format.js'
import { keptPartHint } from './kept-part.js'
import { createProgressBar } from './progress.js'

export const SHELL_HELP = [
  'Commands:',
  '  show              list the files on the server',
  '  search <text>     list the files whose name contains <text> (case-sensitive)',
  '  download <file>   download <file> into the Downloads folder (SHA-256 verified; a cut one resumes)',
  '  download *.pdf    download every file of the listing that the pattern (* and ?) matches',
  '  upload <file>     upload <file> from the Uploads folder',
  '  help              this help',
  '  exit              disconnect and quit',
  'Tab completes commands, file names from the last listing (download) and from Uploads (upload).',
  'Ctrl-C during a transfer cancels it: a download keeps its part (hidden) and the same download resumes it;',
  'an upload keeps nothing. Ctrl-C at the prompt leaves.',
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
 * Ctrl-C during a command cancels it (the connection is dropped, so nothing partial
 * stays, and a new one is opened with `reconnect`); Ctrl-C at the prompt leaves.
 */
export const runShell = async (first: TorClient, dir: string, io: ShellIO, reconnect: () => Promise<TorClient>): Promise<number> => {
  let client = first
  const terminal = Boolean(io.input.isTTY)
  const historyPath = path.join(dir, HISTORY_FILE)
  let knownNames: string[] = []
  let running: Command | undefined
  let cancelled = false
  let cancelledDownload: string | undefined
  let cancelledUpload = false
  let closedWhileIdle = false

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
  rl.on('SIGINT', () => {
    if (running && !cancelled && 'name' in running) {
      cancelled = true
      cancelledDownload = running.verb === 'download' ? running.name : undefined
      cancelledUpload = running.verb === 'upload'
      client.cancel(`${running.verb} of ${running.name}`)
    } else rl.close()
  })

  // The server may close the connection while the prompt waits (idle timeout, kicked, shutting down).
  const watchIdleClose = (c: TorClient) =>
    c.actor.subscribe((snapshot) => {
      if (snapshot.status !== 'done' || running) return
      closedWhileIdle = true
      rl.close()
    })
  let idleWatch = watchIdleClose(client)

  const run = async (command: Command) => {
    // download *.pdf: every file of the server's listing the pattern matches, as one batch.
    if (command.verb === 'download' && /[*?]/.test(command.name)) {
      const listing = await client.run({ verb: 'show' })
      const entries = listing.kind === 'listing' ? listing.entries : []
      const names = matchNames(command.name, entries.map((e) => e.name))
      if (names.length === 0) return io.printError(`No file on the server matches "${visible(command.name)}".`)
      const sizes = new Map(entries.map((e) => [e.name, e.size]))
      const display = await createBatchDisplay('download', names.length, { totalBytes: names.reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0) })
      const result = await runBatch(client, reconnect, 'download', names, display)
      display?.stop()
      if (result.client !== client) {
        idleWatch.unsubscribe()
        client = result.client
        idleWatch = watchIdleClose(client)
      }
      io.print(describeBatch('download', result.summary, names.length, client.folders.downloads))
      for (const line of await batchFailureLines('download', result.summary.failed, client.folders.downloads)) io.printError(line)
      return
    }
    const outcome = await client.run(command, command.verb === 'download' || command.verb === 'upload' ? await createProgressBar() : undefined)
    if (outcome.kind === 'listing') {
      knownNames = outcome.entries.map((e) => e.name)
      const empty = command.verb === 'search' ? `No file name contains "${visible(command.text)}".` : 'The server has no files yet.'
      formatListing(outcome.entries, empty).forEach(io.print)
    } else if (outcome.kind === 'transferred') {
      io.print(describeTransfer(outcome, client.folders.downloads))
    }
  }

  /** Asks one question on the prompt's own line editor; a secret is not echoed. */
  const ask = (question: string, secret = false): Promise<string> =>
    new Promise((resolve) => {
      const internal = rl as unknown as { _writeToOutput: (text: string) => void }
      const write = internal._writeToOutput.bind(rl)
      if (secret) internal._writeToOutput = (text: string) => (text.includes(question) ? write(text) : undefined)
      rl.question(question, (answer) => {
        internal._writeToOutput = write
        if (secret) io.output.write('\n')
        resolve(answer.trim())
      })
    })

  /** At a terminal, when the server wants an account: asks for it and its token, and logs in. */
  const logIn = async (): Promise<boolean> => {
    if (!terminal) return false
    io.printError('The server asks for an account.')
    const account = await ask('Account: ')
    const token = await ask(`Token for ${account}: `, true)
    try {
      await client.run({ verb: 'auth', account, token })
      return true
    } catch (error) {
      io.printError(visible(asTorError(error).message))
      return false
    }
  }

  const closedMessage = () => {
    const reason = client.closedBecause
    const said = reason && 'said' in reason ? reason.said : undefined
    return said ? `The server closed the connection: ${visible(said)}` : 'The server closed the connection.'
  }

  if (terminal) rl.prompt()
  for await (const raw of rl) {
    // Leading blanks go; trailing ones are part of a name ("download a ").
    const line = raw.replace(/^\s+/, '')
    if (line.startsWith('auth ') || line === 'auth') {
      // Never into the history file: a token typed here would be kept in clear.
      io.printError('Log in with: tor client connect --user NAME (the token from TOR_TOKEN or --token-file, or asked for at the terminal).')
      if (terminal) rl.prompt()
      continue
    }
    if (line && terminal) appendHistory(historyPath, line)
    const bare = line.trimEnd()
    if (bare === '') {
      if (terminal) rl.prompt()
      continue
    }
    if (bare === 'help' || bare === '?') {
      SHELL_HELP.forEach(io.print)
      if (terminal) rl.prompt()
      continue
    }
    const command = parseCommand(bare === 'show' || bare === 'exit' ? bare : line)
    // store and features are the batch's wire-level commands, not a person's.
    if (command.verb === 'unknown' || command.verb === 'undelimited' || command.verb === 'store' || command.verb === 'features') {
      io.printError(`Unknown command "${visible(line)}". Type help for the commands.`)
      if (terminal) rl.prompt()
      continue
    }
    running = command
    try {
      await run(command).catch(async (error: unknown) => {
        const refused = asTorError(error)
        if (refused.code !== 'TOR_ERR_REFUSED' || refused.message !== 'authentication required' || !(await logIn())) throw error
        await run(command)
      })
      if (command.verb === 'exit') break
    } catch (error) {
      const failure = asTorError(error)
      // A plain "connection closed" is said below in a person's words.
      if (failure.code !== 'TOR_ERR_PEER_CLOSED') io.printError(visible(failure.message))
    } finally {
      running = undefined
    }
    if (cancelled) {
      cancelled = false
      idleWatch.unsubscribe()
      try {
        client = await reconnect()
        idleWatch = watchIdleClose(client)
        const kept = cancelledDownload ? await keptPartHint(client.folders.downloads, cancelledDownload) : ''
        io.printError(
          kept
            ? `Cancelled${kept}. Connected again.`
            : cancelledUpload && client.account
              ? `Cancelled; the server keeps what arrived for ${client.account}: the same upload continues there. Connected again.`
              : 'Cancelled; nothing partial was kept. Connected again.',
        )
      } catch (error) {
        io.printError(`Cancelled, and could not connect again: ${visible(asTorError(error).message)}`)
        rl.close()
        return 1
      }
    } else if (!client.connected) {
      io.printError(closedMessage())
      rl.close()
      return 1
    }
    if (terminal) rl.prompt()
  }
  idleWatch.unsubscribe()
  if (closedWhileIdle) {
    // The message replaces the prompt line it interrupts.
    if (terminal) {
      readline.clearLine(io.output, 0)
      readline.cursorTo(io.output, 0)
    }
    io.printError(closedMessage())
    return 1
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
