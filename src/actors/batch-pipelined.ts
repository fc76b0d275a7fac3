import { asTorError, InternalError, type TorError } from '../errors.js'
import type { SentAhead } from '../machines/client-session.js'
import type { Command } from '../protocol/index.js'
import type { BatchRunner } from './client-batch.js'
import type { Success } from './client-runtime.js'
import { findPartial, keptPartials, readSmallUpload, STORE_BYTES } from './client-session-io.js'

/**
 * A batch to a server that speaks neither gets nor stores: each file through the
 * client's machine like a single command, the commands pipelined where the server
 * allows it (get lines, store lines), so round trips overlap.
 */
export const runPipelined: BatchRunner = async (first, reconnect, verb, names, progress) => {
  const started = Date.now()
  const done: Extract<Success, { kind: 'transferred' }>[] = []
  const failed: { name: string; error: TorError }[] = []
  let client = first
  let bytes = 0
  let unanswered = 0
  // Commands are pipelined: the lines for the next files go out before this file's replies are read, so
  // the round trips and the file work of both sides overlap. Downloads as get lines, once this connection's
  // server has answered a get (one that does not know get answers each with "unknown", which must stay in
  // step); small uploads as stores (line and bytes together), once its features list store (to any other
  // server the bytes would read as commands). While pipelining every line is written here, in order: the
  // machine never writes one of its own meanwhile. A large upload goes through the machine (put, resumable)
  // with nothing written after it until it is done.
  let pipelining = false
  let nextToSend = 0
  // Looked at again after a reconnect: a download cut on the lost connection kept its part.
  let mayHavePartial = verb === 'download' ? await keptPartials(client.folders.downloads) : () => false
  const sentAhead = new Map<number, SentAhead | { readonly failed: TorError }>()
  // Bytes of stores written and not answered yet: memory for them is bounded by STORE_WINDOW_BYTES (plus one file).
  let storedAhead = 0
  const storesAccepted = async () => verb === 'upload' && client.connected && (await client.features().catch(() => [] as readonly string[])).includes('store')
  const topUp = async (current: number) => {
    while (nextToSend < names.length && nextToSend < current + PIPELINE_DEPTH) {
      const index = nextToSend
      const name = names[index]!
      if (verb === 'download') {
        const partial = mayHavePartial(name) ? await findPartial(client.folders.downloads, name).catch(() => undefined) : undefined
        client.sendAhead(name, partial)
        sentAhead.set(index, { partial })
      } else {
        if (storedAhead >= STORE_WINDOW_BYTES) return
        let small: { bytes: Buffer; sha256: string } | undefined
        try {
          small = readSmallUpload(client.folders, name, STORE_BYTES)
        } catch (error) {
          // Nothing was written for it: it fails here, and the pipeline goes on.
          sentAhead.set(index, { failed: asTorError(error) })
          nextToSend++
          continue
        }
        // A large file waits for everything before it, then goes alone.
        if (!small) return
        client.storeAhead(name, small.bytes, small.sha256)
        sentAhead.set(index, { stored: { size: small.bytes.length, sha256: small.sha256 } })
        storedAhead += small.bytes.length
      }
      nextToSend++
    }
  }
  if (verb === 'upload') pipelining = await storesAccepted()
  for (const [index, name] of names.entries()) {
    progress?.fileStarted(index, name)
    let sent: SentAhead | { readonly failed: TorError } | undefined
    try {
      // Ctrl-C between two files ends the batch here, as it would have during one (no new connection for the rest).
      if (client.cancelled) throw client.cancelled
      if (!client.connected) {
        client = await reconnect()
        pipelining = verb === 'upload' && (await storesAccepted())
        if (verb === 'download') mayHavePartial = await keptPartials(client.folders.downloads)
      }
      if (pipelining) {
        nextToSend = Math.max(nextToSend, index)
        await topUp(index)
      }
      sent = sentAhead.get(index)
      sentAhead.delete(index)
      if (sent && 'stored' in sent && sent.stored) storedAhead -= sent.stored.size
      if (sent && 'failed' in sent) throw sent.failed
      // While pipelining downloads, the machine must never write a line of its own: it could land among those written here.
      if (pipelining && verb === 'download' && !sent) throw new InternalError({ detail: `download ${index} of a pipelined batch was not sent ahead` })
      const running = client.run({ verb, name } satisfies Command, undefined, sent)
      // Handled now: it may fail while the next requests are being written.
      running.catch(() => undefined)
      // While this file's replies are read, the next files' requests are already on their way (never after a file the machine sends itself).
      if (pipelining && sent) await topUp(index + 1)
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
      if (failure.code === 'TOR_ERR_CANCELLED') {
        const isStore = (ahead: typeof sent) => ahead !== undefined && 'stored' in ahead && ahead.stored !== undefined
        unanswered = [...sentAhead.values()].filter(isStore).length + (isStore(sent) ? 1 : 0)
        break
      }
    }
    // Lines sent ahead on a connection that is gone are lost with it: the files after this one are asked again
    // (unless it was cancelled: then they are counted as unanswered).
    if (!client.connected && !client.cancelled) {
      sentAhead.clear()
      nextToSend = 0
      storedAhead = 0
    }
    if (verb === 'download') pipelining = client.connected && !client.lacksGet
  }
  return { summary: { done, failed, bytes, durationMs: Date.now() - started, unanswered }, client }
}

/** Requests in flight ahead of the one being read. */
const PIPELINE_DEPTH = 32
const STORE_WINDOW_BYTES = 8 << 20
