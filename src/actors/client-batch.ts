import { asTorError, InternalError, type TorError } from '../errors.js'
import type { Command } from '../protocol/index.js'
import type { Success, TorClient } from './client-runtime.js'
import { findPartial, keptPartials } from './client-session-io.js'

/** What a batch did: the files transferred, the ones that failed and why. */
export interface BatchSummary {
  readonly done: readonly Extract<Success, { kind: 'transferred' }>[]
  readonly failed: readonly { readonly name: string; readonly error: TorError }[]
  readonly bytes: number
  readonly durationMs: number
}

/** Sees a batch as it goes (one display for the whole batch). */
export interface BatchProgress {
  fileStarted(index: number, name: string): void
  fileEnded(index: number, name: string, outcome: { ok: true; bytes: number } | { ok: false; error: TorError }): void
}

/**
 * Many downloads or uploads over one connection, one after the other, each through
 * the client's machine like a single command. A file that fails (not found, a
 * checksum mismatch, refused) is recorded and the batch goes on; when the
 * connection itself is lost, `reconnect` gives a new one for the files left
 * (a cut download keeps its part and resumes there).
 */
export const runBatch = async (
  first: TorClient,
  reconnect: () => Promise<TorClient>,
  verb: 'download' | 'upload',
  names: readonly string[],
  progress?: BatchProgress,
): Promise<{ summary: BatchSummary; client: TorClient }> => {
  const started = Date.now()
  const done: Extract<Success, { kind: 'transferred' }>[] = []
  const failed: { name: string; error: TorError }[] = []
  let client = first
  let bytes = 0
  // Downloads are pipelined: get lines for the next files go out before this file's replies are read,
  // so the round trips and the file work of both sides overlap. Only once this connection's server has
  // answered a get (one that does not know get answers each with "unknown", which must stay in step),
  // and then every line is written here, in order: the machine never writes one of its own meanwhile.
  let pipelining = false
  let nextToSend = 0
  // Looked at again after a reconnect: a download cut on the lost connection kept its part.
  let mayHavePartial = verb === 'download' ? await keptPartials(client.folders.downloads) : () => false
  const sentAhead = new Map<number, { partial: { offset: number; expected: string } | undefined }>()
  const topUp = async (current: number) => {
    while (nextToSend < names.length && nextToSend < current + PIPELINE_DEPTH) {
      const index = nextToSend++
      const partial = mayHavePartial(names[index]!) ? await findPartial(client.folders.downloads, names[index]!).catch(() => undefined) : undefined
      client.sendAhead(names[index]!, partial)
      sentAhead.set(index, { partial })
    }
  }
  for (const [index, name] of names.entries()) {
    progress?.fileStarted(index, name)
    try {
      if (!client.connected) {
        client = await reconnect()
        pipelining = false
        if (verb === 'download') mayHavePartial = await keptPartials(client.folders.downloads)
      }
      if (pipelining) {
        nextToSend = Math.max(nextToSend, index)
        await topUp(index)
      }
      const sent = sentAhead.get(index)
      sentAhead.delete(index)
      // While pipelining, the machine must never write a line of its own: it could land among those written here.
      if (pipelining && !sent) throw new InternalError({ detail: `download ${index} of a pipelined batch was not sent ahead` })
      const running = client.run({ verb, name } satisfies Command, undefined, sent)
      // Handled now: it may fail while the next requests are being written.
      running.catch(() => undefined)
      // While this file's replies are read, the next files' requests are already on their way.
      if (pipelining) await topUp(index + 1)
      const outcome = await running
      if (outcome.kind === 'transferred') {
        done.push(outcome)
        bytes += outcome.bytes
        progress?.fileEnded(index, name, { ok: true, bytes: outcome.bytes })
      }
    } catch (error) {
      const failure = asTorError(error)
      failed.push({ name, error: failure })
      progress?.fileEnded(index, name, { ok: false, error: failure })
      // Ctrl-C ends the batch; anything else is this file's problem only.
      if (failure.code === 'TOR_ERR_CANCELLED') break
    }
    // Lines sent ahead on a connection that is gone are lost with it: the files after this one are asked again.
    if (!client.connected) {
      sentAhead.clear()
      nextToSend = 0
    }
    pipelining = verb === 'download' && client.connected && !client.lacksGet
  }
  return { summary: { done, failed, bytes, durationMs: Date.now() - started }, client }
}

/** Requests in flight ahead of the one being read. */
const PIPELINE_DEPTH = 32

/** The names of a listing that a shell-style pattern (`*`, `?`) matches, whole names only. */
export const matchNames = (pattern: string, names: readonly string[]): string[] => {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's')
  return names.filter((name) => regex.test(name))
}
