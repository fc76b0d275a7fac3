import { describe, expect, it } from 'vitest'
import { decideCommand, decideStoreEntry } from '../../src/machines/session-rules.js'
import { STORE_MAX_BYTES } from '../../src/protocol/index.js'

const line = (text: string) => ({ _tag: 'Line' as const, text })
const H = 'ab'.repeat(32)

describe('the entries of a stores, each decided once when its line is read', () => {
  it('ends the stores at the empty line', () => {
    expect(decideStoreEntry(line(''), 1000)).toEqual({ next: 'end' })
  })

  it('stores an entry under the NFC form of its name', () => {
    expect(decideStoreEntry(line(`5 ${H} cafe\u0301.txt`), 1000)).toEqual({ next: 'store', name: 'caf\u00e9.txt', size: 5, sha256: H })
  })

  it('drops the bytes of an entry with a bad name or over the upload limit, and says why', () => {
    expect(decideStoreEntry(line(`5 ${H} ../x`), 1000)).toMatchObject({ next: 'drop', size: 5, reply: 'error invalid file name' })
    expect(decideStoreEntry(line(`1001 ${H} big.bin`), 1000)).toMatchObject({ next: 'drop', name: 'big.bin', size: 1001, reply: 'error file too large (max 1000 bytes)' })
  })

  it.each(['x', `5 ${H}`, `five ${H} x`, `5 ${'AB'.repeat(32)} x`, `${STORE_MAX_BYTES + 1} ${H} x`])('ends the session after %j, whose bytes cannot be delimited', (text) => {
    expect(decideStoreEntry(line(text), Number.MAX_SAFE_INTEGER)).toMatchObject({ next: 'close', reply: expect.stringMatching(/^error store needs <size> .*; closing$/) })
  })

  it('ends the session after a line that is not a line (too long, not UTF-8): its bytes cannot be delimited either', () => {
    expect(decideStoreEntry({ _tag: 'Invalid', code: 'LINE_TOO_LONG', message: 'line too long (max 4096 bytes)' }, 1000)).toEqual({
      next: 'close',
      reply: 'error line too long (max 4096 bytes); closing',
      reason: 'line too long (max 4096 bytes)',
    })
  })
})

describe('a stores by a session that may not upload', () => {
  it('is taken all the same, to read and drop its entries, each answered with the refusal', () => {
    expect(decideCommand(line('stores'), { account: undefined, permissions: ['read'] })).toEqual({
      next: 'uploadMany',
      refused: { reply: 'error authentication required', reason: 'authentication required' },
    })
    expect(decideCommand(line('stores'), { account: 'bob', permissions: ['read'] })).toMatchObject({ next: 'uploadMany', refused: { reply: 'error permission denied' } })
    expect(decideCommand(line('stores'), { account: 'bob', permissions: ['upload'] })).toEqual({ next: 'uploadMany' })
  })
})
