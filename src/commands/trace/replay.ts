import { readFile } from 'node:fs/promises'
import * as Args from '@oclif/core/args'
import { Command } from '@oclif/core/command'
import { findMachine } from '../../statecharts/registry.js'
import { parseTrace } from '../../trace/format.js'
import { formatState, replayTrace } from '../../trace/replay.js'

export default class TraceReplay extends Command {
  static override description =
    'Replay a recorded session trace against the current machine (pure transitions, no I/O) and report the first divergence.'

  static override examples = ['<%= config.bin %> <%= command.id %> traces/2026-11-24T10-00-00-000Z-client-1.jsonl']
  static override args = { file: Args.string({ description: 'a trace recorded with tor server start --trace-dir', required: true }) }

  async run(): Promise<void> {
    const { args } = await this.parse(TraceReplay)
    const text = await readFile(args.file, 'utf8').catch((error: NodeJS.ErrnoException) =>
      this.error(`cannot read ${args.file} (${error.code ?? error.message})`, { exit: 2 }),
    )
    const trace = parseTrace(text)
    if ('problem' in trace) this.error(`${args.file}:${trace.line}: malformed trace: ${trace.problem}`, { exit: 2 })
    const name = trace.lines[0]!.machine ?? 'server-session'
    const entry = findMachine(name)
    if (!entry) this.error(`${args.file}:1: unknown machine "${name}"`, { exit: 2 })
    const result = replayTrace(entry.machine, trace.lines)
    if (!result.ok) {
      this.error(
        `${args.file}:${result.line}: diverged after ${result.event}: expected state ${formatState(result.expected)}, got ${formatState(result.actual)}`,
        { exit: 1 },
      )
    }
    this.log(`replayed ${result.events} events, no divergence`)
  }
}
