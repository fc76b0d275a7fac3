import type { BatchProgress } from '../actors/client-batch.js'
import { visible } from '../protocol/names.js'
import { formatBytes, formatDuration, formatRate } from './format.js'

/**
 * One progress display for a batch on stderr: files done of the total, bytes,
 * rate, time left, and the file in progress. Without a terminal it draws nothing.
 * The time left goes by bytes when the batch's size is known (a download of files
 * from the listing), by files otherwise (a few large files first would otherwise
 * promise minutes for hundreds of small ones left).
 */
export const createBatchDisplay = async (
  verb: 'download' | 'upload',
  total: number,
  options: { readonly totalBytes?: number; readonly stream?: NodeJS.WriteStream } = {},
): Promise<(BatchProgress & { stop(): void }) | undefined> => {
  const stream = options.stream ?? process.stderr
  if (!stream.isTTY) return undefined
  // Loaded only when there is a terminal to draw on.
  const { default: cliProgress } = await import('cli-progress')
  const started = Date.now()
  let bytes = 0
  let failed = 0
  let ended = 0
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${verb === 'download' ? 'Downloading' : 'Uploading'} [{bar}] {value}/{total} files | {bytes} | {rate} | ${options.totalBytes === undefined ? '{eta_formatted}' : '{left}'} left | {failed}{current}`,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.legacy,
  )
  const left = () => {
    const elapsed = Math.max(1, Date.now() - started)
    if (options.totalBytes === undefined || bytes === 0) return '-'
    return formatDuration(Math.max(0, options.totalBytes - bytes) / (bytes / elapsed))
  }
  bar.start(total, 0, { bytes: formatBytes(0), rate: '-', current: '', failed: '', left: '-' })
  const payload = (current: string) => ({
    bytes: formatBytes(bytes),
    rate: formatRate(bytes, Date.now() - started),
    current: current.length > 40 ? `${current.slice(0, 39)}…` : current,
    failed: failed > 0 ? `${failed} failed | ` : '',
    left: left(),
  })
  return {
    fileStarted: (_index, name) => bar.update(payload(visible(name))),
    // Files may end out of order (an upload that cannot be read fails before the answers to those sent before it).
    fileEnded: (_index, _name, outcome) => {
      if (outcome.ok) bytes += outcome.bytes
      else failed++
      bar.update(++ended, payload(''))
    },
    stop: () => bar.stop(),
  }
}
