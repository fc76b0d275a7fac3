import { describe, expect, it } from 'vitest'
import { acquireReadBuffers, acquireUploadChunk, UPLOAD_BUFFERS_EACH } from '../../src/storage/chunks.js'

describe('read buffers for downloads', () => {
  it('are 1 MiB while few downloads run, and shrink so that all of them together stay within 64 MiB', () => {
    const first = acquireReadBuffers(1 << 30)
    expect(first.buffers[0].length).toBe(1 << 20)
    const many = Array.from({ length: 999 }, () => acquireReadBuffers(1 << 30))
    const held = [first, ...many].reduce((n, r) => n + r.buffers[0].length + r.buffers[1].length, 0)
    // Early downloads keep their larger buffers; each later one gets its share of what is left.
    expect(many.at(-1)!.buffers[0].length).toBe(64 << 10)
    expect(held).toBeLessThanOrEqual(2 * (64 << 20) + 1000 * 2 * (64 << 10))
    for (const r of [first, ...many]) r.release(false)
  })

  it('hands a small file one buffer of its size', () => {
    const small = acquireReadBuffers(4096)
    expect(small.buffers[0].length).toBe(4096)
    small.release(true)
  })

  it('hands a file of one chunk a view of a pooled buffer, and takes that buffer back (a fresh 1 MiB per download once fed the garbage collector)', () => {
    const one = acquireReadBuffers(1 << 20)
    expect(one.buffers[0].length).toBe(1 << 20)
    expect(one.buffers[1]).toBe(one.buffers[0])
    const backing = one.buffers[0].buffer
    one.release(true)
    const next = acquireReadBuffers((1 << 20) - 5)
    expect(next.buffers[0].length).toBe((1 << 20) - 5)
    expect(next.buffers[0].buffer).toBe(backing)
    next.release(true)
  })

  it('reuses buffers given back after a transfer that ended well, never those of one that failed', () => {
    const ok = acquireReadBuffers(8 << 20)
    const [a] = ok.buffers
    ok.release(true)
    expect(acquireReadBuffers(8 << 20).buffers).toContain(a)
    const failed = acquireReadBuffers(8 << 20)
    const [b, c] = failed.buffers
    failed.release(false)
    const next = acquireReadBuffers(8 << 20)
    expect(next.buffers).not.toContain(b)
    expect(next.buffers).not.toContain(c)
  })
})

describe('stage buffers for uploads', () => {
  it('are 1 MiB while the 32 MiB budget has room, then 64 KiB: 200 uploads at once reserve at most the budget plus 256 KiB each beyond it', () => {
    const chunks = Array.from({ length: 200 }, () => acquireUploadChunk())
    expect(chunks[0]!.bytes).toBe(1 << 20)
    expect(chunks.at(-1)!.bytes).toBe(64 << 10)
    const reserved = chunks.reduce((n, c) => n + c.bytes * UPLOAD_BUFFERS_EACH, 0)
    expect(reserved).toBeLessThanOrEqual((32 << 20) + 200 * UPLOAD_BUFFERS_EACH * (64 << 10))
    for (const c of chunks) c.release()
    // What was released is room again; a release twice gives nothing back twice.
    chunks[0]!.release()
    const next = acquireUploadChunk()
    expect(next.bytes).toBe(1 << 20)
    next.release()
  })
})
