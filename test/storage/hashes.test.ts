import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hashFileOnWorker } from '../../src/actors/parallel-hash.js'
import { hashDescriptor } from '../../src/storage/hashes.js'
import { withOpenFile } from '../support/open-file.js'

describe('the SHA-256 of a served file', () => {
  for (const [where, hashFile] of [
    ['on the event loop', hashDescriptor],
    ['on the hash worker', hashFileOnWorker],
  ] as const) {
    it(`covers only the bytes the file had when it was opened, when it grew since, ${where} (it once hashed the new bytes too, and the download sent with that hash failed its check)`, async () => {
      const bytes = randomBytes((3 << 19) + 11)
      // What the file held when it was opened (its fstat size); the rest was appended after.
      const size = (1 << 20) + 100
      expect(await withOpenFile(bytes, (fd) => hashFile(fd, size))).toBe(createHash('sha256').update(bytes.subarray(0, size)).digest('hex'))
    })
  }
})
