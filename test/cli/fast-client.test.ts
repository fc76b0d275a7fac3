import { parse } from '@oclif/core/parser'
import { describe, expect, it } from 'vitest'
import { ONE_SHOT_FLAG_SPECS, type OneShotCommand } from '../../src/cli/client-flag-specs.js'
import { parseInvocation } from '../../src/cli/fast-client.js'
import ClientDownload from '../../src/commands/client/download.js'
import ClientSearch from '../../src/commands/client/search.js'
import ClientShow from '../../src/commands/client/show.js'
import ClientUpload from '../../src/commands/client/upload.js'

const COMMANDS = { show: ClientShow, search: ClientSearch, download: ClientDownload, upload: ClientUpload } as const

/** What oclif makes of `argv` for `command`: its flags and arguments, or undefined when it refuses them. */
const oclifParse = async (command: OneShotCommand, argv: string[], env: Record<string, string> = {}) => {
  const Command = COMMANDS[command] as unknown as { flags: Parameters<typeof parse>[1]['flags']; args: Parameters<typeof parse>[1]['args']; strict?: boolean }
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const out = await parse(argv, { flags: Command.flags, args: Command.args, strict: Command.strict })
    return { flags: out.flags as Record<string, unknown>, argv: out.argv as string[] }
  } catch {
    return undefined
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
  }
}

describe('the start path without oclif', () => {
  it('declares exactly the flags the oclif commands declare: names, kinds, defaults, bounds, environment variables', async () => {
    // oclif's integer and string flags differ only in what their parse accepts.
    const kindOf = async (flag: Record<string, unknown>) => {
      if (flag.type === 'boolean') return 'boolean'
      const parseValue = flag.parse as (input: string, context: unknown, options: unknown) => Promise<unknown>
      return parseValue('a text', {}, flag).then(
        () => 'string',
        () => 'integer',
      )
    }
    for (const [command, specs] of Object.entries(ONE_SHOT_FLAG_SPECS)) {
      const flags = COMMANDS[command as OneShotCommand].flags as Record<string, Record<string, unknown>>
      const ours = Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [
          name,
          {
            kind: spec.kind,
            default: 'default' in spec ? spec.default : undefined,
            env: 'env' in spec ? spec.env : undefined,
            min: 'min' in spec ? spec.min : undefined,
            max: 'max' in spec ? spec.max : undefined,
            allowNo: 'allowNo' in spec ? spec.allowNo : undefined,
            exclusive: 'exclusive' in spec ? spec.exclusive : undefined,
            description: spec.description,
          },
        ]),
      )
      const theirs = Object.fromEntries(
        await Promise.all(Object.entries(flags).map(async ([name, flag]) => [
          name,
          {
            kind: await kindOf(flag),
            default: flag.default,
            env: flag.env,
            min: flag.min,
            max: flag.max,
            allowNo: flag.allowNo || undefined,
            exclusive: flag.exclusive,
            description: flag.description,
          },
        ])),
      )
      expect({ command, flags: ours }).toEqual({ command, flags: theirs })
    }
  })

  const plain: Array<[OneShotCommand, string[], Record<string, string>?]> = [
    ['show', []],
    ['show', ['--port', '9000']],
    ['show', ['--port=9000', '--host', 'files.example', '--dir', '/tmp/x']],
    ['show', ['--long', '--tls', '--timeout', '5']],
    ['show', ['--no-tls', '--user', 'bob', '--token-file', 'token.txt', '--fingerprint', 'ab:cd']],
    ['show', [], { TOR_HOST: '10.0.0.5', TOR_PORT: '9001', TOR_CLIENT_DIR: 'elsewhere', TOR_TIMEOUT: '9', TOR_USER: 'carol' }],
    ['show', ['--port', '9002'], { TOR_PORT: '9001' }],
    ['search', ['.pdf']],
    ['search', ['report', '--long', '--port', '9000']],
    ['download', ['a.txt']],
    ['download', ['a.txt', 'b.txt', '*.pdf', '--dir', 'here']],
    ['download', ['--all']],
    ['download', ['--search', '2026-']],
    ['download', []],
    ['upload', ['notes.txt']],
    ['upload', ['tor-files/Uploads/a.jpg', 'tor-files/Uploads/b.jpg']],
    ['upload', ['--all', '--port', '7778']],
  ]
  it.each(plain)('parses `tor client %s %j` (env %j) exactly as oclif does', async (command, argv, env = {}) => {
    const ours = parseInvocation(command, argv, env)
    expect(ours).toBeDefined()
    const theirs = await oclifParse(command, argv, env)
    expect(ours).toEqual(theirs)
  })

  const leftToOclif: Array<[OneShotCommand, string[], Record<string, string>?]> = [
    ['show', ['--help']],
    ['show', ['-h']],
    ['show', ['--json']],
    ['show', ['--port', '0']],
    ['show', ['--port', '65536']],
    ['show', ['--port', 'x']],
    ['show', ['--port']],
    ['show', ['--port', '1', '--port', '2']],
    ['show', ['--nope']],
    ['show', ['stray']],
    ['show', ['--tls=true']],
    ['show', [], { TOR_TLS: 'true' }],
    ['show', [], { TOR_PORT: 'seventy' }],
    ['show', [], { TOR_HOST: '' }],
    ['search', []],
    ['search', ['a', 'b']],
    ['search', ['--', '-x']],
    ['download', ['--search', 'a', '--all']],
    ['download', ['--search', '--all']],
    ['upload', ['--no-all']],
  ]
  it.each(leftToOclif)('leaves `tor client %s %j` (env %j) to oclif', (command, argv, env = {}) => {
    expect(parseInvocation(command, argv, env)).toBeUndefined()
  })
})
