import { findPartial } from '../actors/client-session-io.js'
import type { TorError } from '../errors.js'
import { visible } from '../protocol/names.js'
import { formatBytes } from './format.js'

/** When a cut download left a part to resume: says how much, and what to do. */
export const keptPartHint = async (downloads: string, name: string): Promise<string> => {
  const part = await findPartial(downloads, name).catch(() => undefined)
  return part && part.offset > 0 ? ` (${formatBytes(part.offset)} kept: run the same download again to resume)` : ''
}

/** Failures after which a download may have kept a part (cut, cancelled, timed out). */
const MAY_KEEP_A_PART = new Set(['TOR_ERR_CANCELLED', 'TOR_ERR_TRANSFER_INCOMPLETE', 'TOR_ERR_PEER_CLOSED', 'TOR_ERR_TIMEOUT'])

/** One line per file of a batch that failed, with its code, and how much of a cut download was kept to resume. */
export const batchFailureLines = (
  verb: 'download' | 'upload',
  failed: readonly { readonly name: string; readonly error: TorError }[],
  downloads: string,
): Promise<string[]> =>
  Promise.all(
    failed.map(async ({ name, error }) => {
      const kept = verb === 'download' && MAY_KEEP_A_PART.has(error.code) ? await keptPartHint(downloads, name) : ''
      return `  ${visible(name)}: ${visible(error.message)} [${error.code}]${kept}`
    }),
  )
