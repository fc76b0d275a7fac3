import type { SessionLog } from '../machines/server-session.js'
import { visible } from '../protocol/names.js'
import { formatBytes, formatDuration } from '../text/units.js'

/** One server log line for a session event. Client-supplied text is shown with control characters made visible. */
export const formatSessionLog = (clientId: string, entry: SessionLog): string => {
  switch (entry.kind) {
    case 'refused':
      return `${clientId} refused ${JSON.stringify(entry.command)}: ${visible(entry.reason)}`
    case 'refusalsSummarized':
      return `${clientId} refused ${entry.count} more line${entry.count === 1 ? '' : 's'} in a row (not logged one by one)`
    case 'transferred': {
      const { transfer, report } = entry
      const verb = transfer.direction === 'download' ? 'File sent with success' : 'File received with success'
      return `${clientId} ${verb}: ${visible(transfer.name)} (${formatBytes(report.bytes)}, ${report.bytes} bytes) in ${formatDuration(report.durationMs)}`
    }
    case 'sentMany': {
      const { asked, report } = entry
      const missing = report.missing.length === 0 ? '' : `; not sent: ${report.missing.slice(0, 5).map(visible).join(', ')}${report.missing.length > 5 ? ` and ${report.missing.length - 5} more` : ''}`
      return `${clientId} Files sent with success: ${report.sent} of ${asked} asked with gets (${formatBytes(report.bytes)}, ${report.bytes} bytes) in ${formatDuration(report.durationMs)}${missing}`
    }
    case 'storedMany': {
      const { report } = entry
      const refused = report.refused.length === 0 ? '' : `; refused: ${report.refused.slice(0, 5).map(visible).join(', ')}${report.refused.length > 5 ? ` and ${report.refused.length - 5} more` : ''}`
      return `${clientId} Files received with success: ${report.stored} of ${report.stored + report.refused.length} sent with stores (${formatBytes(report.bytes)}, ${report.bytes} bytes) in ${formatDuration(report.durationMs)}${refused}`
    }
    case 'transferFailed':
      return `${clientId} ${entry.transfer.direction} of ${visible(entry.transfer.name)} (${entry.transfer.size} bytes) failed: ${visible(entry.reason)}`
    case 'closing':
      return `${clientId} closing: ${entry.reason}`
    case 'login':
      return `${clientId} logged in as ${entry.account}`
  }
}
