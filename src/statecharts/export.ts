import type { AnyStateNode } from 'xstate'
import { toMermaid } from './mermaid.js'
import { MACHINES, type MachineEntry } from './registry.js'

export const machineJson = (entry: MachineEntry): string => `${JSON.stringify(entry.machine.toJSON(), null, 2)}\n`

export const machineMermaid = (entry: MachineEntry): string => toMermaid(entry.machine)

const stateRows = (node: AnyStateNode, rows: string[] = []): string[] => {
  for (const child of Object.values(node.states) as AnyStateNode[]) {
    rows.push(`| \`${child.path.join('.')}\` | ${child.description ?? ''} |`)
    stateRows(child, rows)
  }
  return rows
}

export const statechartsReadme = (): string => {
  const parts = [
    '# Statecharts',
    '',
    'Generated from the machine definitions in `src/machines` by `npm run statecharts`',
    '(`tor statecharts export --out docs/statecharts`); a test fails when these files drift from the code.',
    'Each machine also has its XState definition as JSON (`<machine>.json`) and its diagram as Mermaid (`<machine>.mmd`).',
    'Transitions read `done <actor>` / `error <actor>` for an invoked actor finishing or failing, and `if <guard>` for a named guard.',
  ]
  for (const entry of MACHINES) {
    parts.push(
      '',
      `## ${entry.title} (\`${entry.name}\`)`,
      '',
      entry.summary,
      '',
      '```mermaid',
      machineMermaid(entry).trimEnd(),
      '```',
      '',
      '| state | meaning |',
      '|---|---|',
      ...stateRows(entry.machine.root),
    )
  }
  return `${parts.join('\n')}\n`
}

/** Every generated file under docs/statecharts, by file name. */
export const statechartFiles = (): Record<string, string> => {
  const files: Record<string, string> = { 'README.md': statechartsReadme() }
  for (const entry of MACHINES) {
    files[`${entry.name}.json`] = machineJson(entry)
    files[`${entry.name}.mmd`] = machineMermaid(entry)
  }
  return files
}
