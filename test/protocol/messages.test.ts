import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeListingRow,
  encodeCommand,
  encodeListingRow,
  encodeSize,
  encodeVerifiedSize,
  nameProblem,
  parseVerifiedSize,
  parseCommand,
  parseSize,
  Reply,
  STORE_MAX_BYTES,
  type Command,
} from '../../src/protocol/index.js'
import { compareCodePoints } from '../../src/storage/catalog.js'

describe('parseCommand', () => {
  it.each([
    ['show', { verb: 'show' }],
    ['exit', { verb: 'exit' }],
    ['search report', { verb: 'search', text: 'report' }],
    ['search  two spaces', { verb: 'search', text: ' two spaces' }],
    ['download my file.txt', { verb: 'download', name: 'my file.txt' }],
    ['upload a', { verb: 'upload', name: 'a' }],
    ['get 0 - my file.txt', { verb: 'get', offset: 0, expected: undefined, name: 'my file.txt' }],
    [`get 42 ${'ab'.repeat(32)} x`, { verb: 'get', offset: 42, expected: 'ab'.repeat(32), name: 'x' }],
    ['gets a.txt', { verb: 'gets', names: ['a.txt'] }],
    ['gets my file.txt\tb c\t\td', { verb: 'gets', names: ['my file.txt', 'b c', '', 'd'] }],
    ['features', { verb: 'features' }],
    [`store 5 ${'ab'.repeat(32)} my file.txt`, { verb: 'store', size: 5, sha256: 'ab'.repeat(32), name: 'my file.txt' }],
    [`store 0 ${'ab'.repeat(32)} empty`, { verb: 'store', size: 0, sha256: 'ab'.repeat(32), name: 'empty' }],
    ['stores', { verb: 'stores' }],
    [`store ${STORE_MAX_BYTES} ${'ab'.repeat(32)} x`, { verb: 'store', size: STORE_MAX_BYTES, sha256: 'ab'.repeat(32), name: 'x' }],
  ])('reads %j', (line, command) => {
    expect(parseCommand(line)).toEqual(command)
  })

  it.each(['', 'SHOW', 'show x', 'exit now', 'search', 'search ', 'download', 'download ', 'upload', 'list', ' show', 'get', 'get 0 x', 'get -1 - x', 'get 0 - ', `get 0 ${'AB'.repeat(32)} x`, 'get 1e3 - x', 'gets', 'gets ', 'stores 3', 'stores '])(
    'treats %j as an unknown command',
    (line) => {
      expect(parseCommand(line).verb).toBe('unknown')
    },
  )

  // Its bytes follow the line whatever it says: a store that cannot be delimited cannot be answered and skipped.
  it.each(['store', 'store ', 'store x', `store 5 ${'AB'.repeat(32)} x`, `store 5 ${'ab'.repeat(32)} `, `store -1 ${'ab'.repeat(32)} x`, `store ${STORE_MAX_BYTES + 1} ${'ab'.repeat(32)} x`, `store 5 - x`])(
    'reads %j as a store whose payload cannot be delimited',
    (line) => {
      expect(parseCommand(line).verb).toBe('undelimited')
    },
  )

  it('treats features with an argument as an unknown command', () => {
    expect(parseCommand('features all').verb).toBe('unknown')
  })

  it('round-trips every command through encodeCommand', () => {
    const arg = fc.string({ minLength: 1 }).filter((s) => !s.includes('\n'))
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.constant({ verb: 'show' as const }),
      fc.constant({ verb: 'exit' as const }),
      arg.map((text) => ({ verb: 'search' as const, text })),
      arg.map((name) => ({ verb: 'download' as const, name })),
      arg.map((name) => ({ verb: 'upload' as const, name })),
      fc.record({
        verb: fc.constant('get' as const),
        offset: fc.nat({ max: Number.MAX_SAFE_INTEGER }).filter((n) => String(n).length <= 16),
        expected: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: undefined }),
        name: arg,
      }),
      fc.constant({ verb: 'features' as const }),
      fc.constant({ verb: 'stores' as const }),
      fc.record({ verb: fc.constant('gets' as const), names: fc.array(arg.filter((s) => !s.includes('\t')), { minLength: 1 }) }),
      fc.record({ verb: fc.constant('store' as const), size: fc.nat({ max: STORE_MAX_BYTES }), sha256: fc.stringMatching(/^[0-9a-f]{64}$/), name: arg }),
    )
    fc.assert(
      fc.property(command, (c) => {
        expect(parseCommand(encodeCommand(c))).toEqual(c)
      }),
    )
  })
})

describe('file names', () => {
  it.each(['a.txt', 'my report (final).pdf', 'ünïcødé ✓', 'x'.repeat(255), 'trailing.', '-dash'])('allows %j', (name) => {
    expect(nameProblem(name)).toBeUndefined()
  })

  it.each([
    ['', 'empty'],
    ['.hidden', 'starts with "."'],
    ['..', 'starts with "."'],
    ['../etc/passwd', 'starts with "."'],
    ['a/b', 'contains a path separator'],
    ['a\\b', 'contains a path separator'],
    ['nul\u0000byte', 'contains a control character'],
    ['tab\there', 'contains a control character'],
    ['del\u007f', 'contains a control character'],
    ['é'.repeat(128), 'longer than 255 bytes'],
  ])('refuses %j (%s)', (name, reason) => {
    expect(nameProblem(name)).toBe(reason)
  })
})

describe('sizes', () => {
  it.each([
    ['0', 0],
    ['5', 5],
    ['007', 7],
    ['1073741824', 1073741824],
  ])('reads %j', (text, size) => expect(parseSize(text)).toBe(size))

  it.each(['', '-1', '+1', '1.5', '1e3', ' 5', '5 ', '0x10', 'five'])('refuses %j as invalid', (text) => {
    expect(parseSize(text)).toMatchObject({ _tag: 'InvalidSize', code: 'TOR_ERR_INVALID_SIZE' })
  })

  it('refuses sizes over the limit or beyond safe integers as too large', () => {
    expect(parseSize('11', 10)).toMatchObject({ _tag: 'FileTooLarge' })
    expect(parseSize('99999999999999999999')).toMatchObject({ _tag: 'FileTooLarge' })
  })

  it('round-trips any safe size', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(parseSize(encodeSize(n))).toBe(n)
      }),
    )
  })
})

describe('verified size lines', () => {
  it('write size, SHA-256 and the first byte sent, and read them back', () => {
    const sha256 = 'ab'.repeat(32)
    expect(encodeVerifiedSize({ size: 11, sha256, from: 6 })).toBe(`11 ${sha256} 6`)
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 40 }), fc.stringMatching(/^[0-9a-f]{64}$/), (a, b, sha) => {
        const v = { size: Math.max(a, b), sha256: sha, from: Math.min(a, b) }
        expect(parseVerifiedSize(encodeVerifiedSize(v))).toEqual(v)
      }),
    )
  })

  it.each(['11', `11 ${'ab'.repeat(32)}`, `5 ${'ab'.repeat(32)} 6`, `11 ${'AB'.repeat(32)} 0`, `-1 ${'ab'.repeat(32)} 0`, `11 ${'ab'.repeat(32)} 0 x`])(
    'refuses %j as a protocol violation',
    (line) => {
      expect(parseVerifiedSize(line)).toMatchObject({ _tag: 'ProtocolViolation' })
    },
  )
})

describe('listing rows', () => {
  it('writes name, size and ISO 8601 UTC time separated by tabs', () => {
    expect(encodeListingRow({ name: 'a b.txt', size: 12, mtimeMs: Date.UTC(2026, 10, 24, 10) })).toBe(
      'a b.txt\t12\t2026-11-24T10:00:00.000Z',
    )
  })

  it('round-trips any valid entry', () => {
    const name = fc.string({ minLength: 1, maxLength: 50 }).filter((n) => nameProblem(n) === undefined)
    const time = fc.integer({ min: 0, max: Date.UTC(9999, 0) })
    fc.assert(
      fc.property(name, fc.maxSafeNat(), time, (n, size, mtimeMs) => {
        expect(decodeListingRow(encodeListingRow({ name: n, size, mtimeMs }))).toEqual({ name: n, size, mtimeMs })
      }),
    )
  })

  it('carries a SHA-256 as a fourth field in the rows of hashes, and refuses one that is not 64 hex', () => {
    const sha256 = 'ab'.repeat(32)
    const entry = { name: 'a b.txt', size: 3, mtimeMs: Date.parse('2026-11-24T10:00:00.000Z'), sha256 }
    expect(encodeListingRow(entry)).toBe(`a b.txt\t3\t2026-11-24T10:00:00.000Z\t${sha256}`)
    expect(decodeListingRow(encodeListingRow(entry))).toEqual(entry)
    expect(decodeListingRow(`a\t3\t2026-11-24T10:00:00.000Z\t${'AB'.repeat(32)}`)).toMatchObject({ _tag: 'ProtocolViolation' })
    expect(decodeListingRow(`a\t3\t2026-11-24T10:00:00.000Z\t${sha256}\tx`)).toMatchObject({ _tag: 'ProtocolViolation' })
  })

  it('gives a typed failure for a malformed row', () => {
    expect(decodeListingRow('just a name')).toMatchObject({ _tag: 'ProtocolViolation' })
    expect(decodeListingRow('a\tbig\t2026-11-24T10:00:00.000Z')).toMatchObject({ _tag: 'ProtocolViolation' })
  })
})

describe('replies', () => {
  it('are exactly the seed protocol strings', () => {
    expect(Reply).toEqual({
      ok: 'ok',
      unknownCommand: 'This command does not exist, rewrite',
      end: 'end',
      found: 'found',
      notFound: 'Not found file',
      exit: 'exit',
    })
  })
})

describe('code-point order', () => {
  it('sorts like UTF-8 bytes, not like UTF-16 or the locale', () => {
    const names = ['b', 'B', 'a', '\u{1F600}', '\uFF5E', 'é', 'Z']
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    expect([...names].sort(compareCodePoints)).toEqual(byBytes)
  })

  it('agrees with UTF-8 byte order for any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))))
      }),
    )
  })
})
