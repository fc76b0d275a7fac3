import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.js'

// The loader as bin/run.cjs uses it: built (npm test builds first), in a process of its own, since
// the cache is written when that process exits.
const LOADER = path.join(ROOT, 'dist/cli/cached-script.cjs')

const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) {
    chmodSync(folder, 0o755)
    rmSync(folder, { recursive: true, force: true })
  }
})

/** A CommonJS module whose export says it ran, in a folder of its own. */
const moduleFile = (): string => {
  const folder = mkdtempSync(path.join(tmpdir(), 'tor-code-cache-'))
  folders.push(folder)
  const file = path.join(folder, 'bundle.cjs')
  writeFileSync(file, `exports.answer = () => 'loaded from ' + require('node:path').basename(__filename)\n`)
  return file
}

/** Loads `file` with the loader in a new process; what its export answered. */
const loadInChild = (file: string): string => {
  const child = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(LOADER)}).loadWithCodeCache(${JSON.stringify(file)}).answer())`], {
    encoding: 'utf8',
  })
  expect(child.stderr).toBe('')
  expect(child.status).toBe(0)
  return child.stdout
}

describe('loading the one-shot client with a code cache', () => {
  it('writes the cache at the first load and uses it, unchanged, at the next', () => {
    const file = moduleFile()
    expect(loadInChild(file)).toBe('loaded from bundle.cjs')
    const cache = `${file}.cache`
    expect(existsSync(cache)).toBe(true)
    const written = statSync(cache).mtimeMs
    const bytes = readFileSync(cache)
    expect(loadInChild(file)).toBe('loaded from bundle.cjs')
    expect(statSync(cache).mtimeMs).toBe(written)
    expect(readFileSync(cache).equals(bytes)).toBe(true)
  })

  it('compiles as usual over a cache V8 rejects, and writes a good one in its place', () => {
    const file = moduleFile()
    const cache = `${file}.cache`
    writeFileSync(cache, 'not a code cache at all')
    expect(loadInChild(file)).toBe('loaded from bundle.cjs')
    expect(readFileSync(cache, 'utf8')).not.toBe('not a code cache at all')
  })

  it('still loads from a folder it cannot write to, leaving nothing behind', () => {
    const file = moduleFile()
    chmodSync(path.dirname(file), 0o555)
    expect(loadInChild(file)).toBe('loaded from bundle.cjs')
    // root writes anyway; anyone else gets no cache and no temporary file.
    if (process.getuid?.() !== 0) expect(existsSync(`${file}.cache`)).toBe(false)
    expect(spawnSync('ls', ['-a', path.dirname(file)], { encoding: 'utf8' }).stdout).not.toContain('.tmp')
  })

  it('is what the build made for the one-shot client, which runs from it without loading oclif', () => {
    const cache = path.join(ROOT, 'dist/fast-client.cjs.cache')
    const before = statSync(cache).mtimeMs
    // Says at exit whether oclif's `execute` (what runs a command through oclif) was ever required.
    const probe = path.join(moduleFile(), '..', 'probe.cjs')
    writeFileSync(probe, `process.on('exit', () => process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('@oclif/core/lib/execute')))))\n`)
    const run = (args: string[]) => spawnSync(process.execPath, ['-r', probe, path.join(ROOT, 'bin/run.cjs'), ...args], { encoding: 'utf8' })
    const plain = run(['client', 'show', '--host', '127.0.0.1', '--port', '1'])
    expect(plain.stderr).toContain('TOR_ERR_CONNECTION')
    expect(plain.stdout).toBe('false')
    // The cache is written only when missing or rejected: a run leaves the built one as it is.
    expect(statSync(cache).mtimeMs).toBe(before)
    // The probe can tell: what the fast path leaves to oclif loads it.
    expect(run(['client', 'show', '--json', '--host', '127.0.0.1', '--port', '1']).stdout).toContain('true')
  })

  it('loads a one-shot client bundle that is ASCII only (one typographic quote in a comment made V8 hold all of it two bytes per character)', () => {
    const source = readFileSync(path.join(ROOT, 'dist/fast-client.cjs'), 'latin1')
    expect(source.match(/[^\x00-\x7f][^\n]{0,40}/)?.[0]).toBeUndefined()
  })
})
