import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { statechartFiles } from '../../src/statecharts/export.js'
import { MACHINES } from '../../src/statecharts/registry.js'
import { ROOT, tor } from '../support/cli.js'

const DIR = path.join(ROOT, 'docs/statecharts')
const owner = (file: string) => MACHINES.find((m) => file.startsWith(`${m.name}.`))?.name

describe('docs/statecharts', () => {
  for (const [file, generated] of Object.entries(statechartFiles())) {
    const machine = owner(file)
    it(`${file} matches ${machine ? `the ${machine} machine` : 'the machines'} in src/machines`, async () => {
      const committed = await readFile(path.join(DIR, file), 'utf8').catch(() => '(missing)')
      expect(
        committed,
        `docs/statecharts/${file} is out of date with ${machine ? `the ${machine} machine` : 'the machines'}. ` +
          'If the machine change is intended, run `npm run statecharts` and commit docs/statecharts.',
      ).toBe(generated)
    })
  }

  it('holds no stale file for a machine that no longer exists', async () => {
    expect((await readdir(DIR)).sort()).toEqual(Object.keys(statechartFiles()).sort())
  })
})

describe('tor statecharts', () => {
  it('lists the machines', async () => {
    const r = await tor(['statecharts', 'list'], { cwd: ROOT })
    expect(r.stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean)).toEqual(MACHINES.map((m) => m.name))
  })

  it('shows one machine as Mermaid or JSON', async () => {
    const mermaid = await tor(['statecharts', 'show', 'server-session'], { cwd: ROOT })
    expect(mermaid.stdout).toBe(statechartFiles()['server-session.mmd'])
    const json = await tor(['statecharts', 'show', 'client-session', '--format', 'json'], { cwd: ROOT })
    expect(JSON.parse(json.stdout).id).toBe('clientSession')
  })

  it('refuses an unknown machine with the list of known ones', async () => {
    const r = await tor(['statecharts', 'show', 'toaster'], { cwd: ROOT })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/server-session/)
  })

  it('exports every file to the folder given', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'tor-charts-'))
    const r = await tor(['statecharts', 'export', '--out', out], { cwd: ROOT })
    expect(r.code).toBe(0)
    for (const [file, content] of Object.entries(statechartFiles())) expect(await readFile(path.join(out, file), 'utf8')).toBe(content)
  })
})
