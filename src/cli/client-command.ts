import * as path from 'node:path'
import { Command } from '@oclif/core'
import { CommandFailed, TorClient, type ClientOptions, type Success } from '../actors/client-runtime.js'
import { isTorError } from '../errors.js'
import type { Command as TftcpCommand } from '../protocol/index.js'
import { describeTransfer } from './format.js'
import { createProgressBar } from './progress.js'

/** Base of the one-shot client commands: connect, run one command, say exit, report. */
export abstract class OneShotClientCommand extends Command {
  protected async runOnce(options: ClientOptions, command: TftcpCommand): Promise<Success> {
    const client = await TorClient.connect(options).catch((error: unknown) => this.fail(error))
    try {
      return await client.run(command, createProgressBar()).catch((error: unknown) => this.fail(error))
    } finally {
      await client.close()
    }
  }

  protected fail(error: unknown): never {
    if (error instanceof CommandFailed || isTorError(error)) this.error(error.message, { exit: 1 })
    throw error
  }

  /** One line on stderr; `clientDir` is the --dir flag (downloads are in its Downloads folder). */
  protected reportTransfer(outcome: Success, clientDir: string): void {
    if (outcome.kind === 'transferred') this.logToStderr(describeTransfer(outcome, path.join(clientDir, 'Downloads')))
  }
}
