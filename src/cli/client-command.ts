import * as path from 'node:path'
import { Command } from '@oclif/core/command'
import { TorClient, type Success } from '../actors/client-runtime.js'
import { askHidden, clientOptionsFrom } from './client-flags.js'
import { isTorError, type TorError } from '../errors.js'
import { visible } from '../protocol/names.js'
import type { Command as TftcpCommand } from '../protocol/index.js'
import { runBatch } from '../actors/client-batch.js'
import type { FileEntry } from '../protocol/index.js'
import { createBatchDisplay } from './batch-display.js'
import { describeBatch, describeTransfer } from './format.js'
import { keptPartHint } from './kept-part.js'
import { createProgressBar } from './progress.js'

/** What to try next, for the failures whose reason alone does not say. */
const hintFor = (error: TorError): string => {
  if (error.code === 'TOR_ERR_REFUSED' && error.message === 'authentication required') return ' (log in with --user NAME, the token in TOR_TOKEN or --token-file)'
  // Closed before any reply: TLS spoken to a clear-text client looks just like this. Closed mid-transfer: it cannot be.
  if (error.code === 'TOR_ERR_PEER_CLOSED' && !error.said && !error.during) return ' (if the server speaks TLS, use --tls; it may also have closed on a limit: its log says why)'
  if (error.code === 'TOR_ERR_PEER_CLOSED' && !error.said) return ' (the server went away or cut the connection: its log says why; run the same command again once it is back)'
  if (error.code === 'TOR_ERR_REFUSED' && error.message === 'This command does not exist, rewrite') return ' (the server does not know this command: an older Tor-Server speaks only show, search, download, upload)'
  return ''
}

/** Base of the one-shot client commands: connect, run one command, say exit, report. */
export abstract class OneShotClientCommand extends Command {
  protected async runOnce(flags: Parameters<typeof clientOptionsFrom>[0], command: TftcpCommand): Promise<Success> {
    const options = await clientOptionsFrom(
      flags,
      (message) => this.error(message, { exit: 2 }),
      (line) => this.logToStderr(line),
      process.stdin.isTTY ? (account) => askHidden(`Token for ${account}: `) : undefined,
    )
    const client = await TorClient.connect(options).catch((error: unknown) => this.fail(error))
    // Ctrl-C cancels the command cleanly (nothing partial is kept); a second one kills as usual.
    const cancel = () => client.cancel('name' in command ? `${command.verb} of ${command.name}` : command.verb)
    process.once('SIGINT', cancel)
    const result = await client.run(command, createProgressBar()).then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    )
    process.off('SIGINT', cancel)
    await client.close()
    if ('outcome' in result) return result.outcome
    const kept = command.verb === 'download' ? await keptPartHint(client.folders.downloads, command.name) : ''
    return this.fail(result.error, kept)
  }

  /**
   * Many downloads or uploads on one connection (`names`, or the names `pick` chooses
   * from the server's listing), one display for the batch, a summary at the end;
   * exit 1 naming the files that failed.
   */
  protected async runBatchOnce(
    flags: Parameters<typeof clientOptionsFrom>[0],
    verb: 'download' | 'upload',
    names: readonly string[] | ((listing: readonly FileEntry[]) => string[]),
  ): Promise<void> {
    const options = await clientOptionsFrom(
      flags,
      (message) => this.error(message, { exit: 2 }),
      (line) => this.logToStderr(line),
      process.stdin.isTTY ? (account) => askHidden(`Token for ${account}: `) : undefined,
    )
    const connect = () => TorClient.connect(options)
    let client = await connect().catch((error: unknown) => this.fail(error))
    let chosen: readonly string[]
    if (typeof names === 'function') {
      const listing = await client.run({ verb: 'show' }).catch((error: unknown) => this.fail(error))
      chosen = names(listing.kind === 'listing' ? listing.entries : [])
    } else chosen = names
    if (chosen.length === 0) {
      await client.close()
      this.logToStderr(verb === 'download' ? 'No file on the server matches: nothing to download.' : 'No file to upload.')
      return
    }
    const display = createBatchDisplay(verb, chosen.length)
    const cancel = () => client.cancel(`${verb} of ${chosen.length} files`)
    process.on('SIGINT', cancel)
    const result = await runBatch(client, connect, verb, chosen, display)
    process.off('SIGINT', cancel)
    display?.stop()
    client = result.client
    await client.close()
    const { summary } = result
    this.logToStderr(describeBatch(verb, summary, chosen.length, path.join(flags.dir, 'Downloads')))
    for (const { name, error } of summary.failed) this.logToStderr(`  ${visible(name)}: ${visible(error.message)} [${error.code}]`)
    if (summary.unanswered > 0) {
      this.logToStderr(
        `${summary.unanswered} more were sent before the cancel and got no answer: the server may have stored them (each only whole and verified); the same upload again sends them anew.`,
      )
    }
    if (summary.failed.length > 0) this.exit(1)
  }

  /**
   * One line on stderr with the stable code, exit 1. Text from the server is shown
   * with control characters made visible. With --json the line is JSON too.
   */
  protected fail(error: unknown, hint = ''): never {
    if (!isTorError(error)) throw error
    if (this.jsonEnabled()) {
      // oclif would print its own error JSON on stdout, which must stay the command's output only.
      process.stderr.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`)
      process.exit(1)
    }
    this.error(`${visible(error.message)}${hint || hintFor(error)} [${error.code}]`, { exit: 1 })
  }

  /** One line on stderr; `clientDir` is the --dir flag (downloads are in its Downloads folder). */
  protected reportTransfer(outcome: Success, clientDir: string): void {
    if (outcome.kind === 'transferred') this.logToStderr(describeTransfer(outcome, path.join(clientDir, 'Downloads')))
  }
}
