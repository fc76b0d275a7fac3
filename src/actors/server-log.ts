import type { SessionLog } from '../machines/server-session.js'
import { formatBytes, formatDuration } from '../cli/format.js'

export const formatSessionLog = (clientId: string, entry: SessionLog): string => {
  switch (entry.kind) {
    case 'refused':
      return `${clientId} refused ${JSON.stringify(entry.command)}: ${entry.reason}`
    case 'transferred': {
      const { transfer, report } = entry
      const verb = transfer.direction === 'download' ? 'File sent with success' : 'File received with success'
      return `${clientId} ${verb}: ${transfer.name} (${formatBytes(report.bytes)}, ${report.bytes} bytes) in ${formatDuration(report.durationMs)}`
    }
    case 'transferFailed':
      return `${clientId} ${entry.transfer.direction} of ${entry.transfer.name} (${entry.transfer.size} bytes) failed: ${entry.reason}`
  }
}
