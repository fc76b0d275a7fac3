import { Command } from '@oclif/core/command'
import type { CommandOutput } from './one-shot.js'

/** Base of the one-shot client commands run by oclif: what they write goes through oclif's methods. */
export abstract class OneShotClientCommand extends Command {
  protected get output(): CommandOutput {
    return {
      log: (line) => this.log(line),
      logToStderr: (line) => this.logToStderr(line),
      error: (message, options) => this.error(message, options),
      exit: (code) => this.exit(code),
      json: this.jsonEnabled(),
    }
  }
}
