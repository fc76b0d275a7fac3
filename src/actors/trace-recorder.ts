import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import * as path from 'node:path'
import type { InspectionEvent } from 'xstate'
import { traceLine } from '../trace/format.js'

/**
 * Records one JSON Lines trace per session actor (machine id `serverSession`)
 * into `dir`, from the actor system's inspection events: every event a session
 * receives, with the state after it. Costs nothing unless `--trace-dir` is given.
 */
export const createTraceRecorder = (dir: string, machineName = 'server-session', machineId = 'serverSession') => {
  mkdirSync(dir, { recursive: true })
  const open = new Map<string, WriteStream>()
  const stamp = () => new Date().toISOString()

  const inspect = (inspection: InspectionEvent) => {
    if (inspection.type !== '@xstate.snapshot') return
    const actor = inspection.actorRef as unknown as { sessionId: string; id: string; logic?: { id?: string } }
    if (actor.logic?.id !== machineId) return
    const snapshot = inspection.snapshot as unknown as { value: unknown; status: string }
    let file = open.get(actor.sessionId)
    const first = file === undefined
    if (!file) {
      const name = `${stamp().replace(/[:.]/g, '-')}-${actor.id}.jsonl`
      file = createWriteStream(path.join(dir, name), { flags: 'a' })
      file.on('error', () => undefined)
      open.set(actor.sessionId, file)
    }
    file.write(`${traceLine({ ts: stamp(), machine: first ? machineName : undefined, event: inspection.event, state: snapshot.value })}\n`)
    if (snapshot.status !== 'active') {
      file.end()
      open.delete(actor.sessionId)
    }
  }

  const close = () => {
    for (const file of open.values()) file.end()
    open.clear()
  }
  return { inspect, close }
}
