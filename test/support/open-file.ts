import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'

/** Writes `bytes` to a file of its own, opens it for reading, and runs `use` with the descriptor; both go after. */
export const withOpenFile = async <A>(bytes: Uint8Array, use: (fd: number) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tor-open-file-'))
  try {
    const file = path.join(dir, 'file')
    writeFileSync(file, bytes)
    const fd = openSync(file, 'r')
    try {
      return await use(fd)
    } finally {
      closeSync(fd)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
