import { rm, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FolderCatalog } from '../../src/storage/catalog.js'
import { makeTempDir } from '../support/server.js'

let dir: string
let catalog: FolderCatalog

/** Resolves once the catalog's watch has reported every one of these names. */
const staleFor = (...names: string[]) =>
  new Promise<void>((resolve) => {
    const waiting = new Set(names)
    const onStale = (name: string | undefined) => {
      if (name !== undefined) waiting.delete(name)
      if (waiting.size > 0) return
      catalog.off('stale', onStale)
      resolve()
    }
    catalog.on('stale', onStale)
  })

beforeEach(async () => {
  dir = await makeTempDir()
  await writeFile(path.join(dir, 'a.txt'), 'hello')
  await writeFile(path.join(dir, 'b.txt'), 'bee')
  catalog = new FolderCatalog({ root: dir })
})

afterEach(async () => {
  catalog.close()
  await rm(dir, { recursive: true, force: true })
})

const summary = async () => (await catalog.list()).map((e) => `${e.name}:${e.size}`)

describe('FolderCatalog', () => {
  it('sees files added, changed and removed on disk behind the server', async () => {
    expect(await summary()).toEqual(['a.txt:5', 'b.txt:3'])
    const seen = staleFor('a.txt', 'b.txt', 'late.txt')
    await writeFile(path.join(dir, 'a.txt'), 'longer content now')
    await writeFile(path.join(dir, 'late.txt'), 'late')
    await rm(path.join(dir, 'b.txt'))
    await seen
    expect(await summary()).toEqual(['a.txt:18', 'late.txt:4'])
  })

  it('sees a change the server made itself at once, without waiting for the watch', async () => {
    await catalog.list()
    await writeFile(path.join(dir, 'mine.txt'), 'uploaded')
    catalog.changed('mine.txt')
    expect(await summary()).toEqual(['a.txt:5', 'b.txt:3', 'mine.txt:8'])
  })

  it('ignores uploads in progress: their hidden temporary files fire an event per write', async () => {
    await catalog.list()
    const reported: Array<string | undefined> = []
    catalog.on('stale', (name) => reported.push(name))
    const seen = staleFor('c.txt')
    await writeFile(path.join(dir, '.tor-upload-1234.part'), 'partial')
    await writeFile(path.join(dir, 'c.txt'), 'c')
    // Watch events come in order: once c.txt is reported, the hidden file's events have been seen.
    await seen
    expect(reported.filter((name) => name !== 'c.txt')).toEqual([])
    expect((await catalog.list()).map((e) => e.name)).toEqual(['a.txt', 'b.txt', 'c.txt'])
  })

  it('re-reads sizes without re-sorting when no name came or went', async () => {
    const before = await catalog.list()
    const seen = staleFor('b.txt')
    await writeFile(path.join(dir, 'b.txt'), 'a longer bee')
    await seen
    expect((await catalog.list()).map((e) => `${e.name}:${e.size}`)).toEqual(['a.txt:5', 'b.txt:12'])
    expect(before.map((e) => e.size)).toEqual([5, 3])
  })
})
