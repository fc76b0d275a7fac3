import { describe, expect, it } from 'vitest'
import { describeTransfer, formatListing, formatRate } from '../../src/cli/format.js'
import { nameProblem, visible } from '../../src/protocol/names.js'

describe('terminal output', () => {
  it('formats a listing of 150,000 files (the table once overflowed the stack)', () => {
    const entries = Array.from({ length: 150_000 }, (_, i) => ({ name: `file-${i}.txt`, size: i, mtimeMs: 0 }))
    const lines = formatListing(entries)
    expect(lines).toHaveLength(150_002)
    expect(lines.at(-1)).toMatch(/^150000 files, /)
  })

  it('prints rates rounded, never with a long fraction', () => {
    expect(formatRate(1, 3)).toBe('333 B/s')
    expect(formatRate(63, 2)).toBe('30.8 KiB/s')
  })

  it('gives no rate for a transfer that took under a millisecond (it once said 3 B/s for 3 bytes in 0 ms)', () => {
    expect(describeTransfer({ direction: 'download', name: 'a.txt', bytes: 3, durationMs: 0 }, 'D')).toBe('Downloaded a.txt (3 B) to D/a.txt in 0 ms')
    expect(describeTransfer({ direction: 'download', name: 'a.txt', bytes: 3000, durationMs: 2 }, 'D')).toBe('Downloaded a.txt (2.9 KiB) to D/a.txt in 2 ms, 1.4 MiB/s')
  })

  it('makes control, escape and direction-changing characters visible', () => {
    expect(visible('a\u001b[2Jb\u0007')).toBe('a\\x1b[2Jb\\x07')
    expect(visible('invoice\u202Efdp.exe')).toBe('invoice\\u{202e}fdp.exe')
    expect(visible('caf\u00e9 \u{1F600}.txt')).toBe('caf\u00e9 \u{1F600}.txt')
    expect(visible('back\\slash')).toBe('back\\\\slash')
  })

  it('shows names from the server made visible in the table and the transfer line', () => {
    const [, row] = formatListing([{ name: 'x\u001b]0;t\u0007', size: 1, mtimeMs: 0 }])
    expect(row).toMatch(/^x\\x1b\]0;t\\x07 /)
    expect(describeTransfer({ direction: 'upload', name: 'y\u001b', bytes: 1, durationMs: 1 }, 'D')).toMatch(/^Uploaded y\\x1b /)
  })

  it('refuses names in a form other than NFC, or with invisible characters', () => {
    expect(nameProblem('cafe\u0301')).toBe('not in Unicode NFC form')
    expect(nameProblem('a\u2066b')).toBe('contains an invisible or direction-changing character')
    expect(nameProblem('caf\u00e9')).toBeUndefined()
  })
})
