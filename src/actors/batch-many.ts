import { asTorError, InternalError, type TorError } from '../errors.js'
import type { Transferred } from '../machines/client-session.js'
import { runPipelined } from './batch-pipelined.js'
import type { BatchProgress, BatchSummary } from './client-batch.js'
import type { TorClient } from './client-runtime.js'
import { keptPartials } from './client-session-io.js'

/** What a batch did so far, told to its display as each file ends. */
class Tally {
  readonly started = Date.now()
  readonly done: Transferred[] = []
  readonly failed: { name: string; error: TorError }[] = []
  bytes = 0

  constructor(private readonly progress: BatchProgress | undefined) {}

  ended(index: number, name: string, outcome: Transferred | { readonly error: TorError }): void {
    if ('error' in outcome) {
      this.failed.push({ name, error: outcome.error })
      this.progress?.fileEnded(index, name, { ok: false, error: outcome.error })
    } else {
      this.done.push(outcome)
      this.bytes += outcome.bytes
      this.progress?.fileEnded(index, name, { ok: true, bytes: outcome.bytes })
    }
  }

  /**
   * The batch cannot go on at file `indices[0]`: after Ctrl-C that file fails (the batch ends there, as the
   * user asked); when the server cannot be reached again, every file left fails with why, each named.
   */
  endAll(indices: readonly number[], names: readonly string[], error: TorError): void {
    for (const index of error.code === 'TOR_ERR_CANCELLED' ? indices.slice(0, 1) : indices) this.ended(index, names[index]!, { error })
  }

  /** The files of a batch run for the rest (a server that speaks neither gets nor stores after a reconnect). */
  merge(rest: BatchSummary): void {
    this.done.push(...rest.done)
    this.failed.push(...rest.failed)
    this.bytes += rest.bytes
  }

  summary(unanswered = 0): BatchSummary {
    return { done: this.done, failed: this.failed, bytes: this.bytes, durationMs: Date.now() - this.started, unanswered }
  }
}

/** One file through the machine alone (a download with a kept part, an upload too large for a stores). */
const runAlone = (client: TorClient, verb: 'download' | 'upload', name: string): Promise<Transferred | { readonly error: TorError }> =>
  client.run({ verb, name }).then(
    (success) => (success.kind === 'transferred' ? success : { error: new InternalError({ detail: `${verb} answered with ${success.kind}` }) }),
    (error: unknown) => ({ error: asTorError(error) }),
  )

/** True when the server lists `feature` among its extensions (asked once per connection). */
export const speaks = async (client: TorClient, feature: 'gets' | 'stores') =>
  client.connected && (await client.features().catch(() => [] as readonly string[])).includes(feature)

/** A way to run a batch of one direction over `first` (and new connections from `reconnect`). */
export type BatchPath = (
  first: TorClient,
  reconnect: () => Promise<TorClient>,
  names: readonly string[],
  progress?: BatchProgress,
) => Promise<{ summary: BatchSummary; client: TorClient }>

/**
 * A download batch to a server that speaks gets: the names without a kept part go by
 * runs in gets commands (one line of at most GETS_LINE_BYTES each, the files read
 * outside the machine, each reported as it ends); a name with a kept part goes alone
 * through the machine, as get resumed where its part ends. When the connection is
 * lost, the file being received fails (a large one keeps its part) and the rest are
 * asked on a new one; Ctrl-C ends the batch there.
 */
export const downloadWithGets: BatchPath = async (first, reconnect, names, progress) => {
  const tally = new Tally(progress)
  let client = first
  let mayHavePartial = await keptPartials(client.folders.downloads)
  let at = 0
  while (at < names.length) {
    const name = names[at]!
    try {
      if (client.cancelled) throw client.cancelled
      if (!client.connected) {
        client = await reconnect()
        // A server that no longer speaks gets (replaced meanwhile) gets the rest the pipelined way.
        if (!(await speaks(client, 'gets'))) {
          const rest = await runPipelined(client, reconnect, 'download', names.slice(at), progress && remapped(progress, names.map((_, i) => i).slice(at)))
          tally.merge(rest.summary)
          return { summary: tally.summary(), client: rest.client }
        }
        mayHavePartial = await keptPartials(client.folders.downloads)
      }
    } catch (error) {
      tally.endAll(names.map((_, i) => i).slice(at), names, asTorError(error))
      break
    }
    if (mayHavePartial(name)) {
      progress?.fileStarted(at, name)
      const outcome = await runAlone(client, 'download', name)
      tally.ended(at, name, outcome)
      at++
      if ('error' in outcome && outcome.error.code === 'TOR_ERR_CANCELLED') break
      continue
    }
    const run = runOfNames(names, at, mayHavePartial)
    const base = at
    let heard = 0
    progress?.fileStarted(base, name)
    try {
      await client.receiveMany(run, (i, outcome) => {
        heard = i + 1
        tally.ended(base + i, outcome.name, outcome.ok ? outcome : { error: outcome.error })
        if (heard < run.length) progress?.fileStarted(base + heard, run[heard]!)
      })
      at += run.length
    } catch (error) {
      const failure = asTorError(error)
      // Refused as a whole (the connection is fine): every file of the run fails with it. Cut: the one being received does.
      const failedNow = client.connected ? run.length - heard : 1
      for (let i = heard; i < heard + failedNow; i++) tally.ended(base + i, run[i]!, { error: failure })
      at = base + heard + failedNow
      if (failure.code === 'TOR_ERR_CANCELLED') break
    }
  }
  return { summary: tally.summary(), client }
}

/**
 * An upload batch to a server that speaks stores: the files go as entries of stores
 * commands (one while they are small enough; each answer read as the next entries go
 * out, outside the machine), and a file too large for one alone through the machine,
 * as put (resumable). When the connection is lost, the first file without an answer
 * fails and the others without one are sent again on a new connection (a store is whole
 * or nothing, so sending one again is safe); after Ctrl-C they are counted as unanswered.
 */
export const uploadWithStores: BatchPath = async (first, reconnect, names, progress) => {
  const tally = new Tally(progress)
  let client = first
  // The files not ended yet, by their index in `names`, in order.
  let pending = names.map((_, i) => i)
  while (pending.length > 0) {
    try {
      if (client.cancelled) throw client.cancelled
      if (!client.connected) {
        client = await reconnect()
        if (!(await speaks(client, 'stores'))) {
          const rest = await runPipelined(client, reconnect, 'upload', pending.map((i) => names[i]!), progress && remapped(progress, pending))
          tally.merge(rest.summary)
          return { summary: tally.summary(rest.summary.unanswered), client: rest.client }
        }
      }
    } catch (error) {
      tally.endAll(pending, names, asTorError(error))
      break
    }
    const batch = pending
    const heard = new Set<number>()
    const written = new Set<number>()
    try {
      const { handled } = await client.sendMany(
        batch.map((i) => names[i]!),
        {
          onSent: (j) => {
            written.add(j)
            progress?.fileStarted(batch[j]!, names[batch[j]!]!)
          },
          onFile: (j, outcome) => {
            heard.add(j)
            tally.ended(batch[j]!, outcome.name, outcome.ok ? outcome : { error: outcome.error })
          },
        },
      )
      pending = batch.slice(handled)
      // The file that ended the stores is too large for one: alone, as put.
      const large = pending.shift()
      if (large !== undefined) {
        progress?.fileStarted(large, names[large]!)
        const outcome = await runAlone(client, 'upload', names[large]!)
        tally.ended(large, names[large]!, outcome)
        if ('error' in outcome && outcome.error.code === 'TOR_ERR_CANCELLED') break
      }
    } catch (error) {
      const failure = asTorError(error)
      const unheard = batch.map((_, j) => j).filter((j) => !heard.has(j))
      if (unheard.length > 0) tally.ended(batch[unheard[0]!]!, names[batch[unheard[0]!]!]!, { error: failure })
      if (failure.code === 'TOR_ERR_CANCELLED') return { summary: tally.summary(unheard.slice(1).filter((j) => written.has(j)).length), client }
      pending = unheard.slice(1).map((j) => batch[j]!)
    }
  }
  return { summary: tally.summary(), client }
}

/** The names from `at` on that go in one gets: up to the next with a kept part, as many as fit one line. */
const runOfNames = (names: readonly string[], at: number, mayHavePartial: (name: string) => boolean): string[] => {
  const run: string[] = []
  let bytes = 'gets '.length
  for (let i = at; i < names.length; i++) {
    const name = names[i]!
    const cost = Buffer.byteLength(name) + 1
    if (mayHavePartial(name) || (run.length > 0 && bytes + cost > GETS_LINE_BYTES)) break
    run.push(name)
    bytes += cost
  }
  return run
}

/** A display for the files at `indices` of a batch, driven by a batch of those files only. */
const remapped = (progress: BatchProgress, indices: readonly number[]): BatchProgress => ({
  fileStarted: (index, name) => progress.fileStarted(indices[index]!, name),
  fileEnded: (index, name, outcome) => progress.fileEnded(indices[index]!, name, outcome),
})

/** A gets line stays within the server's 4096-byte line limit. */
const GETS_LINE_BYTES = 4096
