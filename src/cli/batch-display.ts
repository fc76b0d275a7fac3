import cliProgress from 'cli-progress'
import type { BatchProgress } from '../actors/client-batch.js'
import { visible } from '../protocol/names.js'
import { formatBytes, formatRate } from './format.js'

/**
 * One progress display for a batch on stderr: files done of the total, bytes,
 * rate, time left, and the file in progress. Without a terminal it draws nothing.
 */
export const createBatchDisplay = (
  verb: 'download' | 'upload',
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): (BatchProgress & { stop(): void }) | undefined => {
  if (!stream.isTTY) return undefined
  const started = Date.now()
  let bytes = 0
  let failed = 0
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${verb === 'download' ? 'Downloading' : 'Uploading'} [{bar}] {value}/{total} files | {bytes} | {rate} | {eta_formatted} left | {failed}{current}`,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.legacy,
  )
  bar.start(total, 0, { bytes: formatBytes(0), rate: '-', current: '', failed: '' })
  const payload = (current: string) => ({
    bytes: formatBytes(bytes),
    rate: formatRate(bytes, Date.now() - started),
    current: current.length > 40 ? `${current.slice(0, 39)}…` : current,
    failed: failed > 0 ? `${failed} failed | ` : '',
  })
  return {
    fileStarted: (_index, name) => bar.update(payload(visible(name))),
    fileEnded: (index, _name, outcome) => {
      if (outcome.ok) bytes += outcome.bytes
      else failed++
      bar.update(index + 1, payload(''))
    },
    stop: () => bar.stop(),
  }
}
