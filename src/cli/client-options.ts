// fs.promises, not node:fs/promises: it loads on first use (about 1.2 ms of every client command's start otherwise).
import { promises as fs } from 'node:fs'
import { createRequire } from 'node:module'
import type { ClientOptions } from '../actors/client-runtime.js'
import { normalizeFingerprint } from '../actors/server-trust.js'
import type { ClientFlags } from './client-flag-specs.js'

/** The options every client command reads; a bad --fingerprint or a missing token is a usage error (exit 2). */
export const clientOptionsFrom = async (
  flags: ClientFlags,
  usageError: (message: string) => never,
  say: (line: string) => void,
  /** Asks for the token at a terminal, when there is one. */
  askToken?: (account: string) => Promise<string>,
): Promise<ClientOptions> => {
  const fingerprint = flags.fingerprint === undefined ? undefined : normalizeFingerprint(flags.fingerprint)
  if (flags.fingerprint !== undefined && fingerprint === undefined) {
    usageError(`--fingerprint: not a SHA-256 fingerprint: ${flags.fingerprint} (64 hex digits, colons optional, as the server prints it at start)`)
  }
  let login: ClientOptions['login']
  if (flags.user !== undefined) {
    const fromFile = flags['token-file'] === undefined ? undefined : await readTokenFile(flags['token-file'], usageError)
    const token = fromFile ?? process.env.TOR_TOKEN ?? (askToken ? await askToken(flags.user) : undefined)
    if (!token) usageError(`--user ${flags.user}: no token; put it in TOR_TOKEN or in a file given with --token-file`)
    login = { account: flags.user, token }
  } else if (flags['token-file'] !== undefined) usageError('--token-file needs --user')
  return { host: flags.host, port: flags.port, dir: flags.dir, timeout: flags.timeout, tls: flags.tls, fingerprint, say, login }
}

const readTokenFile = async (file: string, usageError: (message: string) => never): Promise<string> => {
  const text = await fs.readFile(file, 'utf8').catch(() => usageError(`--token-file: cannot read ${file}`))
  const token = text.split('\n')[0]!.trim()
  return token === '' ? usageError(`--token-file: ${file} is empty`) : token
}

/** Asks for a secret at the terminal without echoing it. */
export const askHidden = (question: string): Promise<string> =>
  new Promise((resolve) => {
    // Loaded only to ask: most commands never do.
    const readline = createRequire(import.meta.url)('node:readline') as typeof import('node:readline')
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true })
    const internal = rl as unknown as { _writeToOutput: (text: string) => void }
    const write = internal._writeToOutput.bind(rl)
    internal._writeToOutput = (text: string) => {
      if (text.includes(question)) write(text)
    }
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer.trim())
    })
  })
