import { listAccounts, type AccountSummary } from '../../../accounts/accounts.js'
import { stateDirFlag, UsersCommand } from '../../../cli/users-command.js'

export default class UsersList extends UsersCommand {
  static override description = 'List the accounts and their permissions (never their tokens).'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = stateDirFlag

  async run(): Promise<AccountSummary[]> {
    const { flags } = await this.parse(UsersList)
    const accounts = await this.perform(listAccounts(flags['state-dir']))
    if (!this.jsonEnabled()) {
      if (accounts.length === 0) this.log('No accounts yet. Add one with: tor server users add <name>')
      else {
        const width = accounts.reduce((w, a) => Math.max(w, a.name.length), 'ACCOUNT'.length)
        this.log(`${'ACCOUNT'.padEnd(width)}  PERMISSIONS`)
        for (const a of accounts) this.log(`${a.name.padEnd(width)}  ${a.permissions.join(', ')}`)
      }
    }
    return accounts
  }
}
