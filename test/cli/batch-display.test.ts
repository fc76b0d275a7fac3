import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createBatchDisplay } from '../../src/cli/batch-display.js'

/** A terminal that keeps what is drawn on it. */
const terminal = () => {
  let text = ''
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString()
        callback()
      },
    }),
    { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  ) as unknown as NodeJS.WriteStream
  return { stream, drawn: () => text }
}

describe('the display of a batch', () => {
  it('counts the files that ended, also out of order (an upload that cannot be read fails before earlier answers)', async () => {
    const { stream, drawn } = terminal()
    const display = (await createBatchDisplay('upload', 3, { stream }))!
    display.fileEnded(2, 'c', { ok: false, error: { code: 'TOR_ERR_NOT_FOUND' } as never })
    display.fileEnded(0, 'a', { ok: true, bytes: 10 })
    display.stop()
    expect(drawn()).toContain('2/3 files')
    expect(drawn()).not.toContain('3/3 files')
  })

  it('says the time left by bytes when the batch size is known, not by files (a large file first once promised minutes for tiny ones)', async () => {
    const { stream, drawn } = terminal()
    const display = (await createBatchDisplay('download', 1000, { stream, totalBytes: 1000 + 999 }))!
    display.fileStarted(0, 'big')
    display.fileEnded(0, 'big', { ok: true, bytes: 1000 })
    display.stop()
    // Half the bytes in (whatever the elapsed time): about as long again, never 999 times as long.
    const left = /\| ([^|]*) left \|/.exec(drawn().split('1/1000 files').at(-1) ?? '')?.[1]
    expect(left).toBeDefined()
    expect(left).toMatch(/^[0-9.]+ m?s$/)
  })
})
