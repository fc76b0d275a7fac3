import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameDecoder, type Frame } from '../../src/protocol/index.js'

const bytes = (text: string) => new TextEncoder().encode(text)

/** Everything the decoder yields for these chunks, raw payloads joined into one frame per payload. */
const decodeAll = (chunks: Uint8Array[], options: { maxLineBytes?: number; rawAfter?: (line: string) => number | undefined } = {}) => {
  const decoder = new FrameDecoder({ maxLineBytes: options.maxLineBytes })
  const out: Array<{ line: string } | { raw: number[] } | { invalid: string }> = []
  let raw: number[] | undefined
  const drain = () => {
    for (let frame: Frame | undefined = decoder.next(); frame; frame = decoder.next()) {
      if (frame._tag === 'Line') {
        out.push({ line: frame.text })
        const size = options.rawAfter?.(frame.text)
        if (size !== undefined && size > 0) {
          decoder.expectRaw(size)
          raw = []
        }
      } else if (frame._tag === 'Raw') {
        raw!.push(...frame.bytes)
        if (frame.remaining === 0) {
          out.push({ raw: raw! })
          raw = undefined
        }
      } else out.push({ invalid: frame.error.code })
    }
  }
  for (const chunk of chunks) {
    decoder.push(chunk)
    drain()
  }
  return { out, decoder }
}

const splitAt = (data: Uint8Array, offsets: number[]) => {
  const chunks: Uint8Array[] = []
  let start = 0
  for (const offset of [...offsets].sort((a, b) => a - b)) {
    chunks.push(data.subarray(start, offset))
    start = offset
  }
  chunks.push(data.subarray(start))
  return chunks
}

const sizeLine = (line: string) => (/^[0-9]+$/.test(line) ? Number(line) : undefined)

describe('FrameDecoder', () => {
  it('yields one line per LF and drops a CR before the LF', () => {
    const { out } = decodeAll([bytes('show\r\nsearch a b\nexit\n')])
    expect(out).toEqual([{ line: 'show' }, { line: 'search a b' }, { line: 'exit' }])
  })

  it('keeps a CR that is not right before the LF', () => {
    expect(decodeAll([bytes('a\rb\n')]).out).toEqual([{ line: 'a\rb' }])
  })

  it('waits for the LF of a line split across chunks', () => {
    const { out, decoder } = decodeAll([bytes('sho')])
    expect(out).toEqual([])
    expect(decoder.bufferedBytes).toBe(3)
  })

  it('decodes multi-byte UTF-8 split inside a character', () => {
    const data = bytes('download résumé ✓.txt\n')
    for (let i = 0; i <= data.length; i++) {
      expect(decodeAll(splitAt(data, [i])).out).toEqual([{ line: 'download résumé ✓.txt' }])
    }
  })

  it('switches to raw mode for exactly size bytes, including bytes that came with the size line', () => {
    const data = bytes('5\nhel\nlshow\n')
    expect(decodeAll([data], { rawAfter: sizeLine }).out).toEqual([{ line: '5' }, { raw: [...bytes('hel\nl')] }, { line: 'show' }])
  })

  it('passes payload bytes that look like LF and CR through untouched', () => {
    const payload = [10, 13, 10, 0, 255]
    const data = new Uint8Array([...bytes('5\n'), ...payload, ...bytes('end\n')])
    expect(decodeAll([data], { rawAfter: sizeLine }).out).toEqual([{ line: '5' }, { raw: payload }, { line: 'end' }])
  })

  it('reports a line over the limit once and resumes after its LF', () => {
    const long = 'x'.repeat(100)
    const { out, decoder } = decodeAll([bytes(long.slice(0, 50)), bytes(long.slice(50)), bytes('\nshow\n')], { maxLineBytes: 10 })
    expect(out).toEqual([{ invalid: 'TOR_ERR_LINE_TOO_LONG' }, { line: 'show' }])
    expect(decoder.bufferedBytes).toBe(0)
  })

  it('holds no more than the limit plus one chunk of an endless line', () => {
    const decoder = new FrameDecoder({ maxLineBytes: 64 })
    for (let i = 0; i < 1000; i++) {
      decoder.push(new Uint8Array(1024).fill(65))
      while (decoder.next()) {
        /* drain */
      }
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(64 + 1 + 1024)
    }
  })

  it('accepts a line of exactly the limit, with or without CR', () => {
    const line = 'y'.repeat(10)
    expect(decodeAll([bytes(`${line}\n${line}\r\n`)], { maxLineBytes: 10 }).out).toEqual([{ line }, { line }])
  })

  it('gives a typed failure for invalid UTF-8 and goes on', () => {
    const data = new Uint8Array([0xff, 0xfe, 0x0a, ...bytes('exit\n')])
    expect(decodeAll([data]).out).toEqual([{ invalid: 'TOR_ERR_INVALID_UTF8' }, { line: 'exit' }])
  })

  it('parses the same whatever offset the stream is split at', () => {
    const data = new Uint8Array([...bytes('show\r\nupload a b\n3\n'), 1, 10, 2, ...bytes('search x\n'), 0xc3, ...bytes('\nexit\n')])
    const whole = decodeAll([data], { rawAfter: sizeLine }).out
    for (let i = 0; i <= data.length; i++) {
      expect(decodeAll(splitAt(data, [i]), { rawAfter: sizeLine }).out, `split at ${i}`).toEqual(whole)
    }
  })
})

describe('FrameDecoder properties', () => {
  const lineText = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.endsWith('\r'))

  it('round-trips any lines, in any chunking', () => {
    fc.assert(
      fc.property(fc.array(lineText, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 8 }), (lines, cuts) => {
        const data = bytes(lines.map((l) => `${l}\n`).join(''))
        const offsets = cuts.map((c) => c % (data.length + 1))
        expect(decodeAll(splitAt(data, offsets), { maxLineBytes: 1 << 16 }).out).toEqual(lines.map((line) => ({ line })))
      }),
    )
  })

  it('parses every chunking of a stream with payloads the same as the whole', () => {
    const message = fc.oneof(
      lineText.filter((l) => !/^[0-9]+$/.test(l)).map((l) => bytes(`${l}\n`)),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((p) => new Uint8Array([...bytes(`${p.length}\n`), ...p])),
    )
    fc.assert(
      fc.property(fc.array(message, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
        const data = new Uint8Array(messages.flatMap((m) => [...m]))
        const whole = decodeAll([data], { rawAfter: sizeLine }).out
        const offsets = cuts.map((c) => c % (data.length + 1))
        expect(decodeAll(splitAt(data, offsets), { rawAfter: sizeLine }).out).toEqual(whole)
      }),
    )
  })

  it('never throws on arbitrary bytes: every frame is a line or a typed failure', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
        const { out, decoder } = decodeAll(chunks, { maxLineBytes: 100 })
        for (const frame of out) expect(Object.keys(frame)[0]).toMatch(/^(line|invalid)$/)
        expect(decoder.bufferedBytes).toBeLessThanOrEqual(100 + 1 + 300)
      }),
    )
  })
})
