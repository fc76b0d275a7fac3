/**
 * Lines written to a stream gathered per event-loop turn into one write: a busy
 * server logs a line per transfer, and one write per line costs more than the
 * transfer of a small file. `flush` writes what is pending at once (before exit).
 */
export const batchedLines = (out: NodeJS.WritableStream) => {
  let pending: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const text = `${pending.join('\n')}\n`
    pending = []
    out.write(text)
  }
  const write = (line: string) => {
    pending.push(line)
    if (pending.length >= 256) flush()
    else if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  return { write, flush }
}
