import { createRequire } from 'node:module'
import { ONE_SHOT_FLAG_SPECS, type FlagSpecs, type OneShotCommand } from './client-flag-specs.js'
import type { CommandOutput } from './one-shot.js'

/**
 * A one-shot client command (show, search, download, upload) run without loading oclif:
 * oclif's command class, configuration and plugins took about 75 ms of the 180 ms a
 * command needed before it sent a byte. Only plain invocations are taken: flags the
 * command has, each at most once, valid values, the right arguments. Anything else
 * (--help, --json, a short flag, `--`, a bad value, an unknown flag, TOR_TLS set) is left
 * to oclif, which says what is wrong exactly as always. What the command writes is
 * plain stdout and stderr; an error line goes through oclif's own printer, loaded then,
 * so it reads as oclif's. This module is bundled into one CommonJS file loaded with a code
 * cache (bin/run.cjs, cached-script.cts); what runs the commands is evaluated only once the
 * invocation is known to be plain, so one left to oclif costs little more than its parse.
 */

export interface ParsedInvocation {
  readonly flags: Record<string, string | number | boolean>
  readonly argv: readonly string[]
}

/** An integer flag's value, or undefined when oclif would refuse it (not digits, out of bounds). */
const integerWithin = (spec: { readonly min?: number; readonly max?: number }, text: string): number | undefined => {
  const number = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(number) || (spec.min !== undefined && number < spec.min) || (spec.max !== undefined && number > spec.max)) return undefined
  return number
}

/**
 * The flags and arguments of `argv` for `command`, as oclif would parse them, or
 * undefined when this is not a plain invocation (oclif takes it then).
 */
export const parseInvocation = (command: OneShotCommand, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedInvocation | undefined => {
  const specs: FlagSpecs = ONE_SHOT_FLAG_SPECS[command]
  const flags: Record<string, string | number | boolean> = {}
  const positional: string[] = []
  const seen = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (!token.startsWith('-')) {
      positional.push(token)
      continue
    }
    if (!token.startsWith('--') || token === '--') return undefined
    const eq = token.indexOf('=')
    let name = eq < 0 ? token.slice(2) : token.slice(2, eq)
    let spec = specs[name]
    let negated = false
    if (!spec && name.startsWith('no-')) {
      const base = specs[name.slice(3)]
      if (base?.kind === 'boolean' && base.allowNo) {
        name = name.slice(3)
        spec = base
        negated = true
      }
    }
    if (!spec || seen.has(name)) return undefined
    seen.add(name)
    if (spec.kind === 'boolean') {
      if (eq >= 0) return undefined
      flags[name] = !negated
      continue
    }
    const value = eq >= 0 ? token.slice(eq + 1) : argv[++i]
    if (value === undefined || value.startsWith('-')) return undefined
    if (spec.kind === 'integer') {
      const number = integerWithin(spec, value)
      if (number === undefined) return undefined
      flags[name] = number
    } else flags[name] = value
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (name in flags) continue
    const fromEnv = spec.env === undefined ? undefined : env[spec.env]
    if (fromEnv !== undefined) {
      // How oclif reads a boolean, or an empty value, from the environment is its own business.
      if (spec.kind === 'boolean' || fromEnv === '') return undefined
      if (spec.kind === 'integer') {
        const number = integerWithin(spec, fromEnv)
        if (number === undefined) return undefined
        flags[name] = number
      } else flags[name] = fromEnv
    } else if (spec.default !== undefined) flags[name] = spec.default
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.kind === 'string' && spec.exclusive && seen.has(name) && spec.exclusive.some((other) => seen.has(other))) return undefined
  }
  // search takes exactly its TEXT; show takes none; download and upload any number.
  if (command === 'search' && positional.length !== 1) return undefined
  if (command === 'show' && positional.length !== 0) return undefined
  return { flags, argv: positional }
}

/** A command's end through `error` or `exit`: thrown, so nothing after it runs (as with oclif's). */
class Ended extends Error {
  constructor(
    readonly exitCode: number,
    readonly said?: string,
  ) {
    super(said ?? `exit ${exitCode}`)
  }
}

const plainOutput: CommandOutput = {
  log: (line) => void process.stdout.write(`${line}\n`),
  logToStderr: (line) => void process.stderr.write(`${line}\n`),
  error: (message, { exit }) => {
    throw new Ended(exit, message)
  },
  exit: (code) => {
    throw new Ended(code)
  },
  json: false,
}

/** Prints what ended the command the way oclif does (its error printer, loaded only now), and exits with its code. */
const endWith = async (error: unknown): Promise<void> => {
  if (error instanceof Ended && error.said === undefined) {
    process.exitCode = error.exitCode
    return
  }
  // required, not imported: a dynamic import() inside a script loaded through node:vm needs an experimental flag.
  const require = createRequire(import.meta.url)
  const { handle } = require('@oclif/core/handle') as typeof import('@oclif/core/handle')
  const { CLIError } = require('@oclif/core/errors') as typeof import('@oclif/core/errors')
  await handle(error instanceof Ended ? new CLIError(error.said!, { exit: error.exitCode }) : (error as Error))
}

/** Runs `tor client <command> <argv>` if it is a plain invocation; false: it was not, oclif should run it. */
export const runWithoutOclif = async (command: string, argv: readonly string[]): Promise<boolean> => {
  if (!(command in ONE_SHOT_FLAG_SPECS)) return false
  const parsed = parseInvocation(command as OneShotCommand, argv)
  if (!parsed) return false
  // Checked against the command's specs above: the shape each one-shot function takes.
  const flags = parsed.flags as never
  try {
    const { downloadFiles, searchFiles, showFiles, uploadFiles } = await import('./one-shot.js')
    if (command === 'show') await showFiles(flags, plainOutput)
    else if (command === 'search') await searchFiles(parsed.argv[0]!, flags, plainOutput)
    else if (command === 'download') await downloadFiles(parsed.argv, flags, plainOutput)
    else await uploadFiles(parsed.argv, flags, plainOutput)
  } catch (error) {
    await endWith(error)
  }
  return true
}
