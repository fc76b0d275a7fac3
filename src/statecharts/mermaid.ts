import type { AnyStateMachine, AnyStateNode } from 'xstate'
import { toDirectedGraph, type DirectedGraphEdge, type DirectedGraphNode } from 'xstate/graph'

const nodeId = (node: AnyStateNode): string => (node.path.length === 0 ? node.machine.id : node.path.join('_'))

/** A transition's label: the event (done/error events by actor id, `always` for eventless) and its named guard. */
const edgeLabel = (edge: DirectedGraphEdge): string => {
  const type = edge.transition.eventType
  const event = type.startsWith('xstate.done.actor.')
    ? `done ${type.slice('xstate.done.actor.'.length)}`
    : type.startsWith('xstate.error.actor.')
      ? `error ${type.slice('xstate.error.actor.'.length)}`
      : type === ''
        ? 'always'
        : type.startsWith('xstate.after.')
          ? `after ${type.split('.')[2]}`
          : type
  const guard = edge.transition.guard
  const guardName =
    typeof guard === 'string'
      ? guard
      : typeof guard === 'object' && guard !== null && 'type' in guard
        ? typeof (guard as { params?: unknown }).params === 'string'
          ? `${String(guard.type)}(${String((guard as { params: string }).params)})`
          : String(guard.type)
        : typeof guard === 'function'
          ? 'guard'
          : undefined
  return guardName ? `${event}, if ${guardName}` : event
}

/** The innermost state that contains both ends of an edge: where Mermaid wants the edge declared. */
const commonAncestor = (a: AnyStateNode, b: AnyStateNode): string[] => {
  const common: string[] = []
  for (let i = 0; i < Math.min(a.path.length, b.path.length) - 1 && a.path[i] === b.path[i]; i++) common.push(a.path[i]!)
  return common
}

/** Mermaid `stateDiagram-v2` for a machine: nested states as composite states, every transition labelled. */
export const toMermaid = (machine: AnyStateMachine): string => {
  const graph = toDirectedGraph(machine)
  const edgesByScope = new Map<string, DirectedGraphEdge[]>()
  const add = (edge: Pick<DirectedGraphEdge, 'source' | 'target' | 'transition'>) => {
    const scope = commonAncestor(edge.source, edge.target).join('.')
    edgesByScope.set(scope, [...(edgesByScope.get(scope) ?? []), edge as DirectedGraphEdge])
  }
  const collect = (node: DirectedGraphNode) => {
    node.edges.forEach(add)
    // xstate/graph leaves out eventless (`always`) transitions; they are part of the machine all the same.
    for (const transition of node.stateNode.always ?? []) {
      for (const target of transition.target ?? []) add({ source: node.stateNode, target, transition })
    }
    node.children.forEach(collect)
  }
  collect(graph)

  const lines = ['stateDiagram-v2']
  const render = (node: DirectedGraphNode, depth: number) => {
    const pad = '  '.repeat(depth)
    const initial = node.stateNode.initial?.target?.[0]
    if (initial) lines.push(`${pad}[*] --> ${nodeId(initial)}`)
    for (const child of node.children) {
      const id = nodeId(child.stateNode)
      if (child.children.length > 0) {
        lines.push(`${pad}state "${child.stateNode.key}" as ${id} {`)
        render(child, depth + 1)
        lines.push(`${pad}}`)
      } else {
        lines.push(`${pad}state "${child.stateNode.key}" as ${id}`)
      }
      if (child.stateNode.type === 'final') lines.push(`${pad}${id} --> [*]`)
    }
    for (const edge of edgesByScope.get(node.stateNode.path.join('.')) ?? []) {
      // A transition on the machine itself is taken from any state: Mermaid has no arrow for that.
      if (edge.source.path.length === 0 && edge.target.path.length === 0) {
        // Actions only, no state change: noted on the initial state.
        lines.push(`${pad}note right of ${nodeId(edge.source.initial!.target[0]!)} : in any state on ${edgeLabel(edge)}, no state change`)
      } else if (edge.source.path.length === 0) lines.push(`${pad}note left of ${nodeId(edge.target)} : from any state on ${edgeLabel(edge)}`)
      else lines.push(`${pad}${nodeId(edge.source)} --> ${nodeId(edge.target)} : ${edgeLabel(edge)}`)
    }
  }
  render(graph, 1)
  return `${lines.join('\n')}\n`
}
