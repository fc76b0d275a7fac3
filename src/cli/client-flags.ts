import { readFile } from 'node:fs/promises'
import * as readline from 'node:readline'
import * as Flags from '@oclif/core/flags'
import type { ClientOptions } from '../actors/client-runtime.js'
import { normalizeFingerprint } from '../actors/server-trust.js'

export const clientFlags = {
  host: Flags.string({ description: 'Tor-Server address', default: '127.0.0.1', env: 'TOR_HOST' }),
  port: Flags.integer({ description: 'Tor-Server port', default: 7777, min: 1, max: 65535, env: 'TOR_PORT' }),
  dir: Flags.string({
    description: 'local folder: downloads go to <dir>/Downloads, uploads are read from <dir>/Uploads',
    default: './tor-files',
    env: 'TOR_CLIENT_DIR',
  }),
  timeout: Flags.integer({
    description: 'seconds the server may stay silent during a command before it fails (TOR_ERR_TIMEOUT)',
    default: 60,
    min: 1,
    env: 'TOR_TIMEOUT',
  }),
  tls: Flags.boolean({
    description: 'talk TLS to the server (default: on for every host that is not loopback; --no-tls to refuse it)',
    allowNo: true,
    env: 'TOR_TLS',
  }),
  user: Flags.string({
    description: 'log in with this account; its token comes from TOR_TOKEN or --token-file (never the command line, where ps shows it), or is asked for at a terminal',
    env: 'TOR_USER',
  }),
  'token-file': Flags.string({ description: "a file whose first line is the account's token" }),
  fingerprint: Flags.string({
    description: "the server certificate's SHA-256 fingerprint, as it prints at start: only that certificate is accepted",
    env: 'TOR_FINGERPRINT',
  }),
}

/** The options every client command reads; a bad --fingerprint or a missing token is a usage error (exit 2). */
export const clientOptionsFrom = async (
  flags: { host: string; port: number; dir: string; timeout: number; tls?: boolean; fingerprint?: string; user?: string; 'token-file'?: string },
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
  const text = await readFile(file, 'utf8').catch(() => usageError(`--token-file: cannot read ${file}`))
  const token = text.split('\n')[0]!.trim()
  return token === '' ? usageError(`--token-file: ${file} is empty`) : token
}

/** Asks for a secret at the terminal without echoing it. */
export const askHidden = (question: string): Promise<string> =>
  new Promise((resolve) => {
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
