import type cliProgressModule from 'cli-progress'
import type { ProgressReporter } from '../actors/client-runtime.js'
import { visible } from '../protocol/names.js'
import { formatBytes, formatRate } from './format.js'

/**
 * A progress bar on stderr (stdout stays clean for --json and pipes): bytes,
 * rate and time left. Without a terminal it draws nothing, and cli-progress is
 * not even loaded (about 12 ms of a one-shot command's start).
 */
export const createProgressBar = async (stream: NodeJS.WriteStream = process.stderr): Promise<ProgressReporter | undefined> => {
  if (!stream.isTTY) return undefined
  const { default: cliProgress } = await import('cli-progress')
  let bar: cliProgressModule.SingleBar | undefined
  let started = 0
  return {
    waiting(label) {
      stream.write(`${visible(label)}: waiting for the server (a file it has not sent before is hashed first, about a second per 1.5 GB)\n`)
    },
    start(total, label) {
      started = Date.now()
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label} [{bar}] {percentage}% | {done} of {size} | {rate} | {eta_formatted} left`,
          barCompleteChar: '#',
          barIncompleteChar: '-',
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
          etaBuffer: 20,
        },
        cliProgress.Presets.legacy,
      )
      bar.start(Math.max(total, 1), 0, { done: formatBytes(0), size: formatBytes(total), rate: '-' })
    },
    update(done) {
      bar?.update(done, { done: formatBytes(done), rate: formatRate(done, Date.now() - started) })
    },
    stop() {
      bar?.stop()
      bar = undefined
    },
  }
}
