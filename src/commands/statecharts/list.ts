import { Command } from '@oclif/core/command'
import { MACHINES } from '../../statecharts/registry.js'

export default class StatechartsList extends Command {
  static override description = 'List the state machines whose statecharts can be shown and exported.'
  static override examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    await this.parse(StatechartsList)
    const width = Math.max(...MACHINES.map((m) => m.name.length))
    for (const m of MACHINES) this.log(`${m.name.padEnd(width)}  ${m.title}`)
  }
}
