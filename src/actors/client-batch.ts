import type { TorError } from '../errors.js'
import { downloadWithGets, speaks, uploadWithStores } from './batch-many.js'
import { runPipelined } from './batch-pipelined.js'
import type { Success, TorClient } from './client-runtime.js'

/** What a batch did: the files transferred, the ones that failed and why. */
export interface BatchSummary {
  readonly done: readonly Extract<Success, { kind: 'transferred' }>[]
  readonly failed: readonly { readonly name: string; readonly error: TorError }[]
  readonly bytes: number
  readonly durationMs: number
  /**
   * Stores already on their way when the batch was cancelled, never answered: the
   * server may have stored them (each only whole and verified) though this side cannot know.
   */
  readonly unanswered: number
}

/** Sees a batch as it goes (one display for the whole batch). */
export interface BatchProgress {
  fileStarted(index: number, name: string): void
  fileEnded(index: number, name: string, outcome: { ok: true; bytes: number } | { ok: false; error: TorError }): void
}

/** Runs a batch of one direction over `first` (and new connections from `reconnect`), telling `progress` as files end. */
export type BatchRunner = (
  first: TorClient,
  reconnect: () => Promise<TorClient>,
  verb: 'download' | 'upload',
  names: readonly string[],
  progress?: BatchProgress,
) => Promise<{ summary: BatchSummary; client: TorClient }>

/**
 * Many downloads or uploads over one connection. A file that fails (not found, a
 * checksum mismatch, refused) is recorded and the batch goes on; when the connection
 * itself is lost, `reconnect` gives a new one for the files left (a cut download keeps
 * its part and resumes there). To a server that speaks gets (downloads) or stores
 * (uploads) the files go in those commands, read outside the machine (batch-many.ts);
 * to any other, each file goes through the machine, pipelined where it allows
 * (batch-pipelined.ts).
 */
export const runBatch: BatchRunner = async (first, reconnect, verb, names, progress) => {
  if (verb === 'download' && (await speaks(first, 'gets'))) return downloadWithGets(first, reconnect, names, progress)
  if (verb === 'upload' && (await speaks(first, 'stores'))) return uploadWithStores(first, reconnect, names, progress)
  return runPipelined(first, reconnect, verb, names, progress)
}

/** The names of a listing that a shell-style pattern (`*`, `?`) matches, whole names only. */
export const matchNames = (pattern: string, names: readonly string[]): string[] => {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's')
  return names.filter((name) => regex.test(name))
}
