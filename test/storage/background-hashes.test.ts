import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { open, rm, utimes, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Layer from 'effect/Layer'
import * as Scope from 'effect/Scope'
import { afterEach, describe, expect, it } from 'vitest'
import { folderStorage } from '../../src/storage/folder-storage.js'
import { Storage, type StorageService } from '../../src/storage/storage.js'
import { makeTempDir } from '../support/server.js'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const scopes: Scope.CloseableScope[] = []
afterEach(async () => {
  for (const scope of scopes.splice(0)) await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** The folder store over `dir`, and a wait for a name to be hashed in the background. */
const start = async (dir: string, quietMs: number) => {
  const hashed = new EventEmitter()
  const seen: string[] = []
  const scope = Effect.runSync(Scope.make())
  scopes.push(scope)
  const layer = folderStorage(dir, { backgroundHashing: { quietMs, onHashed: (name) => (seen.push(name), hashed.emit(name)) } })
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const storage: StorageService = context.unsafeMap.get(Storage.key)
  const waitHashed = (name: string, times = 1) =>
    new Promise<void>((resolve) => {
      const check = () => seen.filter((n) => n === name).length >= times && (hashed.off(name, check), resolve())
      hashed.on(name, check)
      check()
    })
  const sha256Of = (name: string) => Effect.runPromise(Effect.scoped(Effect.flatMap(storage.openForReading(name), (file) => storage.sha256(file))))
  return { waitHashed, sha256Of }
}

describe('background hashing of the local folder', () => {
  it('knows the SHA-256 of a file put in the folder by hand before anyone asks for it', async () => {
    const dir = await makeTempDir('tor-bg-hash-')
    const file = path.join(dir, 'a.bin')
    await writeFile(file, 'first bytes')
    // A time in whole seconds, which can be set again exactly.
    await utimes(file, 1_000_000_000, 1_000_000_000)
    const { waitHashed, sha256Of } = await start(dir, 60_000)
    await waitHashed('a.bin')
    // Other bytes under the same version (inode, size, time): only a hash kept from before answers with the first's.
    const handle = await open(file, 'r+')
    await handle.write('other bytes', 0)
    await handle.close()
    await utimes(file, 1_000_000_000, 1_000_000_000)
    expect(await sha256Of('a.bin')).toBe(sha('first bytes'))
    await rm(dir, { recursive: true, force: true })
  })

  it('hashes a file that appears or changes later, once it is quiet', async () => {
    const dir = await makeTempDir('tor-bg-hash-')
    await writeFile(path.join(dir, 'a.bin'), 'a')
    const { waitHashed, sha256Of } = await start(dir, 10)
    await waitHashed('a.bin')
    await writeFile(path.join(dir, 'b.bin'), 'b')
    await waitHashed('b.bin')
    await writeFile(path.join(dir, 'a.bin'), 'changed')
    await waitHashed('a.bin', 2)
    expect(await sha256Of('a.bin')).toBe(sha('changed'))
    await rm(dir, { recursive: true, force: true })
  })
})
