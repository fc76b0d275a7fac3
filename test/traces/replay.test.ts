import { readFile, readdir, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { serverSessionMachine } from '../../src/machines/server-session.js'
import { parseTrace, type TraceLine } from '../../src/trace/format.js'
import { formatState, replayTrace } from '../../src/trace/replay.js'
import { ROOT, tor } from '../support/cli.js'
import { makeTempDir } from '../support/server.js'

const CORPUS = path.dirname(fileURLToPath(import.meta.url))
const corpus = (await readdir(CORPUS)).filter((f) => f.endsWith('.jsonl')).sort()
const load = async (file: string) => {
  const trace = parseTrace(await readFile(path.join(CORPUS, file), 'utf8'))
  if ('problem' in trace) throw new Error(`${file}:${trace.line}: ${trace.problem}`)
  return trace.lines
}

describe('the recorded trace corpus', () => {
  it('covers every command, an unknown command, a bad name, a bad size, a disconnect mid-upload and exit', () => {
    expect(corpus).toEqual(
      expect.arrayContaining(['every-command.jsonl', 'unknown-command.jsonl', 'bad-name.jsonl', 'bad-size.jsonl', 'disconnect-mid-upload.jsonl']),
    )
  })

  it.each(corpus)('%s replays against the current server session machine', async (file) => {
    const result = replayTrace(serverSessionMachine, await load(file))
    if (!result.ok) {
      expect.fail(
        `test/traces/${file}:${result.line} diverged after ${result.event}: expected ${formatState(result.expected)}, got ${formatState(result.actual)}. ` +
          'If you changed the server session machine on purpose, regenerate the corpus with `npm run traces:record`, check the diff of test/traces and commit it.',
      )
    }
    expect(result.events).toBeGreaterThan(0)
  })

  it('keeps names and byte counts but never file contents', async () => {
    const text = await readFile(path.join(CORPUS, 'every-command.jsonl'), 'utf8')
    expect(text).toContain('"text":"download a.txt"')
    expect(text).toContain('"bytes":3')
    expect(text).not.toContain('hello')
    expect(text).not.toContain('"abc"')
  })
})

describe('trace volume', () => {
  it('writes a refused line repeated in a row once with its count, and replays every repetition', async () => {
    const lines = await load('refusal-flood.jsonl')
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatchObject({ state: 'awaitingCommand', repeat: 31 })
    expect(replayTrace(serverSessionMachine, lines)).toEqual({ ok: true, events: 32 })
  })
})

describe('trace replay', () => {
  it('reports the first divergence with its line and both states', async () => {
    const lines = await load('every-command.jsonl')
    const edited: TraceLine[] = lines.map((l, i) => (i === 2 ? { ...l, state: 'exit' } : l))
    expect(replayTrace(serverSessionMachine, edited)).toMatchObject({ ok: false, line: 3, expected: 'exit', actual: 'awaitingCommand' })
  })

  it('tor trace replay prints the event count, or the divergence with exit code 1', async () => {
    const good = await tor(['trace', 'replay', path.join(CORPUS, 'every-command.jsonl')], { cwd: ROOT })
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/^replayed \d+ events, no divergence$/m)

    const dir = await makeTempDir()
    const lines = (await readFile(path.join(CORPUS, 'every-command.jsonl'), 'utf8')).split('\n')
    lines[1] = lines[1]!.replace('"state":{"streamingList":"progressing"}', '"state":"sendingSize"')
    await writeFile(path.join(dir, 'diverged.jsonl'), lines.join('\n'))
    const bad = await tor(['trace', 'replay', path.join(dir, 'diverged.jsonl')], { cwd: ROOT })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/diverged\.jsonl:2: diverged after xstate\.done\.actor\.readCommand: expected state sendingSize, got \{"streamingList":"progressing"\}/)
  })

  it('tor trace replay names the line of a malformed trace', async () => {
    const dir = await makeTempDir()
    await writeFile(path.join(dir, 'broken.jsonl'), '{"ts":"x","event":{"type":"xstate.init"},"state":"awaitingCommand"}\n{oops\n')
    const r = await tor(['trace', 'replay', path.join(dir, 'broken.jsonl')], { cwd: ROOT })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/broken\.jsonl:2: malformed trace: not valid JSON/)
  })
})
