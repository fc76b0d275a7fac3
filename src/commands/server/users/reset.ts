import * as Args from '@oclif/core/args'
import { resetAccount } from '../../../accounts/accounts.js'
import { stateDirFlag, UsersCommand } from '../../../cli/users-command.js'

export default class UsersReset extends UsersCommand {
  static override description = 'Give an account a new token (the old one stops working) and print it once.'
  static override examples = ['<%= config.bin %> <%= command.id %> alice']
  static override enableJsonFlag = true
  static override args = { name: Args.string({ description: 'account name', required: true }) }
  static override flags = stateDirFlag

  async run(): Promise<{ name: string; token: string }> {
    const { args, flags } = await this.parse(UsersReset)
    const token = await this.perform(resetAccount(flags['state-dir'], args.name))
    if (!this.jsonEnabled()) {
      this.log(`New token for ${args.name}, shown this once:`)
      this.log(token)
    }
    return { name: args.name, token }
  }
}
