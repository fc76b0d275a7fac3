import * as Args from '@oclif/core/args'
import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import { machineJson, machineMermaid } from '../../statecharts/export.js'
import { findMachine, MACHINES } from '../../statecharts/registry.js'

export default class StatechartsShow extends Command {
  static override description = 'Print the statechart of one machine, as Mermaid (default) or as its XState JSON definition.'
  static override examples = ['<%= config.bin %> <%= command.id %> server-session', '<%= config.bin %> <%= command.id %> client-session --format json']
  static override args = {
    machine: Args.string({ description: 'machine name (see tor statecharts list)', required: true, options: MACHINES.map((m) => m.name) }),
  }
  static override flags = {
    format: Flags.string({ description: 'output format', options: ['mermaid', 'json'], default: 'mermaid' }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(StatechartsShow)
    const entry = findMachine(args.machine)!
    process.stdout.write(flags.format === 'json' ? machineJson(entry) : machineMermaid(entry))
  }
}
