import { mkdir, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import { statechartFiles } from '../../statecharts/export.js'

export default class StatechartsExport extends Command {
  static override description = 'Write every statechart (JSON, Mermaid) and a README embedding the diagrams.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --out /tmp/charts']
  static override flags = {
    out: Flags.string({ description: 'folder to write into', default: 'docs/statecharts' }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(StatechartsExport)
    await mkdir(flags.out, { recursive: true })
    for (const [name, content] of Object.entries(statechartFiles())) {
      await writeFile(path.join(flags.out, name), content)
      this.log(`wrote ${path.join(flags.out, name)}`)
    }
  }
}
