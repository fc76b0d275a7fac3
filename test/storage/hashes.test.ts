import { createHash, randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashFileOnWorker } from '../../src/actors/parallel-hash.js'
import { hashDescriptor } from '../../src/storage/hashes.js'

describe('the SHA-256 of a served file', () => {
  for (const [where, hashFile] of [
    ['on the event loop', hashDescriptor],
    ['on the hash worker', hashFileOnWorker],
  ] as const) {
    it(`covers only the bytes the file had when it was opened, when it grew since, ${where} (it once hashed the new bytes too, and the download sent with that hash failed its check)`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tor-hashes-'))
      try {
        const bytes = randomBytes((3 << 19) + 11)
        const file = path.join(dir, 'growing.bin')
        writeFileSync(file, bytes)
        // What the file held when it was opened (its fstat size); the rest was appended after.
        const size = (1 << 20) + 100
        const fd = openSync(file, 'r')
        try {
          expect(await hashFile(fd, size)).toBe(createHash('sha256').update(bytes.subarray(0, size)).digest('hex'))
        } finally {
          closeSync(fd)
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})
