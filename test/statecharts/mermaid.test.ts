import { describe, expect, it } from 'vitest'
import type { AnyStateNode } from 'xstate'
import { toMermaid } from '../../src/statecharts/mermaid.js'
import { MACHINES } from '../../src/statecharts/registry.js'

/** Every transition of a machine, as (source, target) pairs of Mermaid ids, eventless ones included. */
const transitionsOf = (node: AnyStateNode, out: string[] = []): string[] => {
  const id = (n: AnyStateNode) => (n.path.length === 0 ? '(any)' : n.path.join('_'))
  for (const list of node.transitions.values()) {
    // A transition without a target (actions only) is drawn as a loop on its state.
    for (const t of list) for (const target of t.target?.length ? t.target : [node]) out.push(`${id(node)} -> ${id(target)}`)
  }
  for (const t of node.always ?? []) for (const target of t.target ?? []) out.push(`${id(node)} -> ${id(target)}`)
  for (const child of Object.values(node.states) as AnyStateNode[]) transitionsOf(child, out)
  return out
}

/** The arrows a Mermaid diagram draws between states (initial/final markers left out; notes count as "any"). */
const arrowsOf = (mermaid: string): string[] =>
  mermaid.split('\n').flatMap((line) => {
    const arrow = /^\s*(\S+) --> (\S+) : /.exec(line)
    if (arrow) return [`${arrow[1]} -> ${arrow[2]}`]
    const note = /^\s*note left of (\S+) : from any state/.exec(line)
    if (note) return [`(any) -> ${note[1]}`]
    return /^\s*note right of \S+ : in any state .*, no state change$/.test(line) ? ['(any) -> (any)'] : []
  })

describe('Mermaid statecharts', () => {
  for (const { name, machine } of MACHINES) {
    it(`draws every transition of the ${name} machine, the eventless ones that xstate/graph leaves out included`, () => {
      expect(arrowsOf(toMermaid(machine)).sort()).toEqual(transitionsOf(machine.root).sort())
    })
  }
})
