import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { addAccount, parsePermissions } from '../../../accounts/accounts.js'
import { stateDirFlag, UsersCommand } from '../../../cli/users-command.js'

export default class UsersAdd extends UsersCommand {
  static override description =
    'Create an account and print its token once (it is stored only as a scrypt hash). Give the token to its owner; they log in with --user NAME and TOR_TOKEN or --token-file.'
  static override examples = ['<%= config.bin %> <%= command.id %> alice', '<%= config.bin %> <%= command.id %> bob --perms read --json']
  static override enableJsonFlag = true
  static override args = { name: Args.string({ description: 'account name: letters, digits, . - _', required: true }) }
  static override flags = {
    ...stateDirFlag,
    perms: Flags.string({ description: 'what it may do: read (show, search, download), upload (new names), overwrite (replace)', default: 'read,upload,overwrite' }),
  }

  async run(): Promise<{ name: string; token: string }> {
    const { args, flags } = await this.parse(UsersAdd)
    const permissions = parsePermissions(flags.perms)
    if (!permissions) this.error(`--perms: not a list of read, upload, overwrite: ${flags.perms}`, { exit: 2 })
    const token = await this.perform(addAccount(flags['state-dir'], args.name, permissions))
    if (!this.jsonEnabled()) {
      this.log(`Created account ${args.name} (${permissions.join(', ')}). Its token, shown this once:`)
      this.log(token)
    }
    return { name: args.name, token }
  }
}
