import { findPartial } from '../actors/client-session-io.js'
import { formatBytes } from './format.js'

/** When a cut download left a part to resume: says how much, and what to do. */
export const keptPartHint = async (downloads: string, name: string): Promise<string> => {
  const part = await findPartial(downloads, name).catch(() => undefined)
  return part && part.offset > 0 ? ` (${formatBytes(part.offset)} kept: run the same download again to resume)` : ''
}
