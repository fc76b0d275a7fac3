import * as Args from '@oclif/core/args'
import { removeAccount } from '../../../accounts/accounts.js'
import { stateDirFlag, UsersCommand } from '../../../cli/users-command.js'

export default class UsersRemove extends UsersCommand {
  static override description = 'Remove an account: its token stops working at its next login.'
  static override examples = ['<%= config.bin %> <%= command.id %> alice']
  static override args = { name: Args.string({ description: 'account name', required: true }) }
  static override flags = stateDirFlag

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UsersRemove)
    await this.perform(removeAccount(flags['state-dir'], args.name))
    this.log(`Removed account ${args.name}.`)
  }
}
