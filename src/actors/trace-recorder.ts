import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import * as path from 'node:path'
import type { InspectionEvent } from 'xstate'
import { serializeEvent, traceLine, type TraceLine } from '../trace/format.js'

/** One session's trace file, holding back the last line while the same event keeps repeating. */
interface OpenTrace {
  readonly file: WriteStream
  last: { line: TraceLine; key: string } | undefined
  repeat: number
}

/**
 * Records one JSON Lines trace per session actor (machine id `serverSession`)
 * into `dir`, from the actor system's inspection events: every event a session
 * receives, with the state after it. The same event with the same state after it,
 * again and again (a client repeating a refused line), is written once with its
 * count. Costs nothing unless `--trace-dir` is given.
 */
export const createTraceRecorder = (dir: string, machineName = 'server-session', machineId = 'serverSession') => {
  mkdirSync(dir, { recursive: true })
  // By actor: every session is an actor system of its own, so session ids repeat across them.
  const open = new Map<object, OpenTrace>()
  const stamp = () => new Date().toISOString()

  const flush = (trace: OpenTrace) => {
    if (trace.last) trace.file.write(`${traceLine({ ...trace.last.line, repeat: trace.repeat })}\n`)
    trace.last = undefined
    trace.repeat = 0
  }

  const inspect = (inspection: InspectionEvent) => {
    if (inspection.type !== '@xstate.snapshot') return
    const actor = inspection.actorRef as unknown as { id: string; logic?: { id?: string } }
    if (actor.logic?.id !== machineId) return
    const snapshot = inspection.snapshot as unknown as { value: unknown; status: string }
    let trace = open.get(actor)
    const first = trace === undefined
    if (!trace) {
      const name = `${stamp().replace(/[:.]/g, '-')}-${actor.id}.jsonl`
      const file = createWriteStream(path.join(dir, name), { flags: 'a' })
      file.on('error', () => undefined)
      trace = { file, last: undefined, repeat: 0 }
      open.set(actor, trace)
    }
    const key = `${serializeEvent(inspection.event)}${JSON.stringify(snapshot.value)}`
    if (trace.last?.key === key) trace.repeat++
    else {
      flush(trace)
      trace.last = { line: { ts: stamp(), machine: first ? machineName : undefined, event: inspection.event, state: snapshot.value }, key }
      trace.repeat = 1
    }
    if (snapshot.status !== 'active') {
      flush(trace)
      trace.file.end()
      open.delete(actor)
    }
  }

  const close = () => {
    for (const trace of open.values()) {
      flush(trace)
      trace.file.end()
    }
    open.clear()
  }
  return { inspect, close }
}
