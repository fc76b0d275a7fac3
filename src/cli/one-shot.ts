// fs.promises, not node:fs/promises: it loads on first use (about 1.2 ms of every client command's start otherwise).
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { isatty } from 'node:tty'
import { TorClient, type Success } from '../actors/client-runtime.js'
import { matchNames, runBatch } from '../actors/client-batch.js'
import { isTorError, type TorError } from '../errors.js'
import { isValidName, type Command as TftcpCommand, type FileEntry } from '../protocol/index.js'
import { visible } from '../protocol/names.js'
import { createBatchDisplay } from './batch-display.js'
import type { ClientFlags } from './client-flag-specs.js'
import { askHidden, clientOptionsFrom } from './client-options.js'
import { describeBatch, describeTransfer, formatListing } from './format.js'
import { batchFailureLines, keptPartHint } from './kept-part.js'
import { listingJson, type FileJson } from './listing-json.js'
import { createProgressBar } from './progress.js'

/**
 * What a one-shot client command writes and how it ends: oclif's command methods when
 * run by oclif, plain writes when run without it (`fast-client.ts`). `error` and `exit`
 * end the command (they throw).
 */
export interface CommandOutput {
  log(line: string): void
  logToStderr(line: string): void
  error(message: string, options: { exit: number }): never
  exit(code: number): never
  /** --json: the command's return value is the output (oclif prints it). */
  readonly json: boolean
}

/** What to try next, for the failures whose reason alone does not say. */
const hintFor = (error: TorError): string => {
  if (error.code === 'TOR_ERR_REFUSED' && error.message === 'authentication required') return ' (log in with --user NAME, the token in TOR_TOKEN or --token-file)'
  // Closed before any reply: TLS spoken to a clear-text client looks just like this. Closed mid-transfer: it cannot be.
  if (error.code === 'TOR_ERR_PEER_CLOSED' && !error.said && !error.during) return ' (if the server speaks TLS, use --tls; it may also have closed on a limit: its log says why)'
  if (error.code === 'TOR_ERR_PEER_CLOSED' && !error.said) return ' (the server went away or cut the connection: its log says why; run the same command again once it is back)'
  if (error.code === 'TOR_ERR_REFUSED' && error.message === 'This command does not exist, rewrite') return ' (the server does not know this command: an older Tor-Server speaks only show, search, download, upload)'
  return ''
}

/**
 * One line on stderr with the stable code, exit 1. Text from the server is shown
 * with control characters made visible. With --json the line is JSON too.
 */
const fail = (out: CommandOutput, error: unknown, hint = ''): never => {
  if (!isTorError(error)) throw error
  if (out.json) {
    // oclif would print its own error JSON on stdout, which must stay the command's output only.
    process.stderr.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`)
    process.exit(1)
  }
  return out.error(`${visible(error.message)}${hint || hintFor(error)} [${error.code}]`, { exit: 1 })
}

const optionsFrom = (flags: ClientFlags, out: CommandOutput) =>
  clientOptionsFrom(
    flags,
    (message) => out.error(message, { exit: 2 }),
    (line) => out.logToStderr(line),
    // isatty, not process.stdin.isTTY: making process.stdin builds a stream over whatever fd 0 is (4 ms for /dev/null).
    isatty(0) ? (account) => askHidden(`Token for ${account}: `) : undefined,
  )

/**
 * Connects, runs one command, reports, says exit and hangs up (the server's reply to exit tells a one-shot
 * command nothing); fails (exit 1) with the command's TorError. `report` shows a successful outcome first.
 */
const runOnce = async (flags: ClientFlags, command: TftcpCommand, out: CommandOutput, report?: (outcome: Success) => void): Promise<Success> => {
  const options = await optionsFrom(flags, out)
  const client = await TorClient.connect(options).catch((error: unknown) => fail(out, error))
  // Ctrl-C cancels the command cleanly (nothing partial is kept); a second one kills as usual.
  const cancel = () => client.cancel('name' in command ? `${command.verb} of ${command.name}` : command.verb)
  process.once('SIGINT', cancel)
  const progress = command.verb === 'download' || command.verb === 'upload' ? await createProgressBar() : undefined
  const result = await client.run(command, progress).then(
    (outcome) => ({ outcome }),
    (error: unknown) => ({ error }),
  )
  process.off('SIGINT', cancel)
  if ('outcome' in result) report?.(result.outcome)
  await client.close({ hangUp: true })
  if ('outcome' in result) return result.outcome
  const kept = command.verb === 'download' ? await keptPartHint(client.folders.downloads, command.name) : ''
  // Silent from the get on, nothing received: the likely reason (a server answers a get once it knows the hash).
  const unhashed = command.verb === 'download' && !kept && (result.error as TorError | undefined)?.code === 'TOR_ERR_TIMEOUT' ? UNHASHED_HINT : ''
  return fail(out, result.error, kept || unhashed)
}

const UNHASHED_HINT =
  ' (a server hashes a file it has not sent before first, about a second per 1.5 GB, and goes on after this: try again in a while, or with a longer --timeout)'

/**
 * Many downloads or uploads on one connection (`names`, or the names `pick` chooses
 * from the server's listing), one display for the batch, a summary at the end;
 * exit 1 naming the files that failed.
 */
const runBatchOnce = async (
  flags: ClientFlags,
  verb: 'download' | 'upload',
  names: readonly string[] | ((listing: readonly FileEntry[]) => string[]),
  out: CommandOutput,
): Promise<void> => {
  const options = await optionsFrom(flags, out)
  const connect = () => TorClient.connect(options)
  let client = await connect().catch((error: unknown) => fail(out, error))
  let chosen: readonly string[]
  // A download of files from the listing knows its size: the display's time left goes by bytes.
  let totalBytes: number | undefined
  if (typeof names === 'function') {
    const listing = await client.run({ verb: 'show' }).catch((error: unknown) => fail(out, error))
    const entries = listing.kind === 'listing' ? listing.entries : []
    chosen = names(entries)
    const sizes = new Map(entries.map((e) => [e.name, e.size]))
    totalBytes = chosen.reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0)
  } else chosen = names
  if (chosen.length === 0) {
    await client.close({ hangUp: true })
    out.logToStderr(verb === 'download' ? 'No file on the server matches: nothing to download.' : 'No file to upload.')
    return
  }
  const display = await createBatchDisplay(verb, chosen.length, { totalBytes })
  const cancel = () => client.cancel(`${verb} of ${chosen.length} files`)
  process.on('SIGINT', cancel)
  const result = await runBatch(client, connect, verb, chosen, display)
  process.off('SIGINT', cancel)
  display?.stop()
  client = result.client
  await client.close({ hangUp: true })
  const { summary } = result
  out.logToStderr(describeBatch(verb, summary, chosen.length, path.join(flags.dir, 'Downloads')))
  for (const line of await batchFailureLines(verb, summary.failed, client.folders.downloads)) out.logToStderr(line)
  if (summary.unanswered > 0) {
    out.logToStderr(
      `${summary.unanswered} more were sent before the cancel and got no answer: the server may have stored them (each only whole and verified); the same upload again sends them anew.`,
    )
  }
  if (summary.failed.length > 0) out.exit(1)
}

/** One line on stderr; `clientDir` is the --dir flag (downloads are in its Downloads folder). */
const reportTransfer = (outcome: Success, clientDir: string, out: CommandOutput): void => {
  if (outcome.kind === 'transferred') out.logToStderr(describeTransfer(outcome, path.join(clientDir, 'Downloads')))
}

const entriesOf = (outcome: Success): readonly FileEntry[] => (outcome.kind === 'listing' ? outcome.entries : [])

/** tor client show */
export const showFiles = async (flags: ClientFlags & { readonly long: boolean }, out: CommandOutput): Promise<FileJson[]> => {
  const outcome = await runOnce(flags, flags.long ? { verb: 'hashes' } : { verb: 'show' }, out, (outcome) => {
    if (!out.json) formatListing(entriesOf(outcome), 'The server has no files yet.').forEach((line) => out.log(line))
  })
  return listingJson(entriesOf(outcome))
}

/** tor client search TEXT */
export const searchFiles = async (text: string, flags: ClientFlags & { readonly long: boolean }, out: CommandOutput): Promise<FileJson[]> => {
  const outcome = await runOnce(flags, flags.long ? { verb: 'hashes', text } : { verb: 'search', text }, out, (outcome) => {
    if (!out.json) formatListing(entriesOf(outcome), `No file name contains "${text}".`).forEach((line) => out.log(line))
  })
  return listingJson(entriesOf(outcome))
}

/** tor client download FILE... | --search TEXT | --all */
export const downloadFiles = async (files: readonly string[], flags: ClientFlags & { readonly search?: string; readonly all: boolean }, out: CommandOutput): Promise<void> => {
  if (files.length === 0 && flags.search === undefined && !flags.all) out.error('name the files to download, or use --search TEXT or --all', { exit: 2 })
  if (files.length > 0 && (flags.search !== undefined || flags.all)) out.error('give file names, or --search, or --all: not both', { exit: 2 })
  const patterns = files.some((f) => f.includes('*') || f.includes('?'))
  if (files.length === 1 && !patterns) return reportTransfer(await runOnce(flags, { verb: 'download', name: files[0]! }, out), flags.dir, out)
  if (!patterns && flags.search === undefined && !flags.all) return runBatchOnce(flags, 'download', files, out)
  await runBatchOnce(
    flags,
    'download',
    (listing) => {
      const names = listing.map((entry) => entry.name)
      if (flags.all) return names
      if (flags.search !== undefined) return names.filter((name) => name.includes(flags.search!))
      return [...new Set(files.flatMap((pattern) => matchNames(pattern, names)))]
    },
    out,
  )
}

/** tor client upload FILE... | --all */
export const uploadFiles = async (args: readonly string[], flags: ClientFlags & { readonly all: boolean }, out: CommandOutput): Promise<void> => {
  const uploads = path.resolve(flags.dir, 'Uploads')
  // A path (what a shell glob gives) names a file in Uploads by its last part.
  const names = args.map((arg) => {
    if (!arg.includes('/')) return arg
    if (path.dirname(path.resolve(arg)) !== uploads) out.error(`${arg} is not in ${uploads}: uploads are read from there`, { exit: 2 })
    return path.basename(arg)
  })
  if (names.length === 0 && !flags.all) out.error('name the files to upload (from <dir>/Uploads), or use --all', { exit: 2 })
  if (names.length > 0 && flags.all) out.error('give file names or --all: not both', { exit: 2 })
  if (names.length === 1) return reportTransfer(await runOnce(flags, { verb: 'upload', name: names[0]! }, out), flags.dir, out)
  const all = flags.all
    ? (await fs.readdir(uploads, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile() && isValidName(e.name)).map((e) => e.name).sort()
    : names
  await runBatchOnce(flags, 'upload', all, out)
}
