import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hashFileOnWorker, ParallelHash } from '../../src/actors/parallel-hash.js'
import { giveBackBuffer, takeBuffer } from '../../src/storage/chunks.js'
import { withOpenFile } from '../support/open-file.js'

describe('the shared hash worker', () => {
  it('says it is saturated once 16 MiB wait to be hashed, and drains, so a transfer that waits holds a bounded amount', async () => {
    const chunk = randomBytes(256 << 10)
    const hash = new ParallelHash()
    const expected = createHash('sha256')
    let handedOver = 0
    let waits = 0
    // 128 MiB, far more than the bound, as fast as the caller can: it waits whenever told to.
    for (let i = 0; i < 512; i++) {
      hash.update(chunk)
      expected.update(chunk)
      handedOver += chunk.length
      if (hash.saturated) {
        waits++
        // Never more than the bound plus one batch and one chunk handed over before the first wait.
        if (waits === 1) expect(handedOver).toBeLessThanOrEqual((16 << 20) + (1 << 20) + chunk.length)
        await hash.whenDrained()
        expect(hash.saturated).toBe(false)
      }
    }
    expect(waits).toBeGreaterThan(0)
    expect(await hash.digest()).toBe(expected.digest('hex'))
  })

  it('hashes odd-sized pieces across batch boundaries like sha256sum', async () => {
    const bytes = randomBytes((3 << 20) + 12345)
    const hash = new ParallelHash()
    for (let at = 0; at < bytes.length; at += 77_777) hash.update(bytes.subarray(at, at + 77_777))
    expect(await hash.digest()).toBe(createHash('sha256').update(bytes).digest('hex'))
  })
})

describe('hashing a served file on the worker', () => {
  it('gives the SHA-256 of the first `size` bytes of a descriptor, at sizes around its 1 MiB reads, like sha256sum', async () => {
    for (const size of [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (5 << 20) + 3]) {
      const bytes = randomBytes(size + 7)
      const sha256 = await withOpenFile(bytes, (fd) => hashFileOnWorker(fd, size))
      expect(sha256).toBe(createHash('sha256').update(bytes.subarray(0, size)).digest('hex'))
    }
  })

  it('hashes a small file with a buffer of its size and gives it back whole (each once took a pooled 1 MiB buffer, gave back a view the pool refused, and so lost it)', async () => {
    const pooled = takeBuffer(1 << 20)
    giveBackBuffer(pooled)
    await withOpenFile(randomBytes(4096), async (fd) => {
      for (let i = 0; i < 3; i++) await hashFileOnWorker(fd, 4096)
    })
    // Still in the pool (others may have been given back on top of it meanwhile).
    const taken = Array.from({ length: 16 }, () => takeBuffer(1 << 20))
    expect(taken).toContain(pooled)
    for (const buffer of taken) giveBackBuffer(buffer)
  })

  it('fails, never gives a digest, for a file shorter than the size it was told (one cut while it was hashed)', async () => {
    await withOpenFile(randomBytes(3 << 20), (fd) => expect(hashFileOnWorker(fd, 4 << 20)).rejects.toThrow(/ended at 3145728 of 4194304/))
  })
})
