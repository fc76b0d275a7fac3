import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { promisify } from 'node:util'
import * as Effect from 'effect/Effect'
import { AccountProblem, StorageFailure } from '../errors.js'

import { PERMISSIONS, type Permission } from './permissions.js'

export type { Permission } from './permissions.js'

/** An account as stored: never the token, only its scrypt hash and salt. */
interface StoredAccount {
  readonly name: string
  readonly salt: string
  readonly hash: string
  readonly permissions: readonly Permission[]
}

export interface AccountSummary {
  readonly name: string
  readonly permissions: readonly Permission[]
}


const USERS_FILE = 'users.json'
const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>
const HASH_BYTES = 32

/** Account names: letters, digits, dot, dash, underscore; 1 to 64 of them. */
export const isAccountName = (name: string): boolean => /^[A-Za-z0-9._-]{1,64}$/.test(name)

export const parsePermissions = (text: string): readonly Permission[] | undefined => {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean)
  if (parts.length === 0 || !parts.every((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p))) return undefined
  return PERMISSIONS.filter((p) => parts.includes(p))
}

const failure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })

const load = (stateDir: string): Effect.Effect<StoredAccount[], StorageFailure> =>
  Effect.tryPromise({
    try: async () => {
      const text = await readFile(path.join(stateDir, USERS_FILE), 'utf8').catch((error: NodeJS.ErrnoException) =>
        error.code === 'ENOENT' ? '{"accounts":[]}' : Promise.reject(error),
      )
      return (JSON.parse(text) as { accounts: StoredAccount[] }).accounts
    },
    catch: failure(`read ${path.join(stateDir, USERS_FILE)}`),
  })

const save = (stateDir: string, accounts: readonly StoredAccount[]): Effect.Effect<void, StorageFailure> =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(stateDir, { recursive: true, mode: 0o700 })
      const file = path.join(stateDir, USERS_FILE)
      await writeFile(`${file}.tmp`, `${JSON.stringify({ accounts }, null, 2)}\n`, { mode: 0o600 })
      await chmod(`${file}.tmp`, 0o600)
      await rename(`${file}.tmp`, file)
    },
    catch: failure(`write ${path.join(stateDir, USERS_FILE)}`),
  })

/** A fresh random token (shown once) and what is stored of it. */
const newToken = async (): Promise<{ token: string; salt: string; hash: string }> => {
  const token = randomBytes(24).toString('base64url')
  const salt = randomBytes(16)
  return { token, salt: salt.toString('base64'), hash: (await scrypt(token, salt, HASH_BYTES)).toString('base64') }
}

/** Creates an account and returns its token (the only time it is known). */
export const addAccount = (stateDir: string, name: string, permissions: readonly Permission[]) =>
  Effect.gen(function* () {
    if (!isAccountName(name)) return yield* Effect.fail(new AccountProblem({ reason: `not an account name: ${name} (letters, digits, . - _; at most 64)` }))
    const accounts = yield* load(stateDir)
    if (accounts.some((a) => a.name === name)) {
      return yield* Effect.fail(new AccountProblem({ reason: `account ${name} exists already (tor server users reset ${name} gives it a new token)` }))
    }
    const { token, salt, hash } = yield* Effect.promise(newToken)
    yield* save(stateDir, [...accounts, { name, salt, hash, permissions }])
    return token
  })

/** Gives an account a new token (the old one stops working) and returns it. */
export const resetAccount = (stateDir: string, name: string) =>
  Effect.gen(function* () {
    const accounts = yield* load(stateDir)
    const account = accounts.find((a) => a.name === name)
    if (!account) return yield* Effect.fail(new AccountProblem({ reason: `no account named ${name}` }))
    const { token, salt, hash } = yield* Effect.promise(newToken)
    yield* save(stateDir, accounts.map((a) => (a.name === name ? { ...a, salt, hash } : a)))
    return token
  })

export const removeAccount = (stateDir: string, name: string) =>
  Effect.gen(function* () {
    const accounts = yield* load(stateDir)
    if (!accounts.some((a) => a.name === name)) return yield* Effect.fail(new AccountProblem({ reason: `no account named ${name}` }))
    yield* save(stateDir, accounts.filter((a) => a.name !== name))
  })

export const listAccounts = (stateDir: string): Effect.Effect<AccountSummary[], StorageFailure> =>
  load(stateDir).pipe(Effect.map((accounts) => accounts.map(({ name, permissions }) => ({ name, permissions }))))

// Unknown names are checked against this, so a wrong name costs the same time as a wrong token.
const DECOY = { salt: randomBytes(16).toString('base64'), hash: randomBytes(HASH_BYTES).toString('base64') }

/**
 * The permissions of `name` if `token` is its token, else undefined. The accounts file
 * is read at each login, so accounts added or reset while the server runs count at once.
 * Hashes are compared in constant time.
 */
export const verifyLogin = (stateDir: string, name: string, token: string): Effect.Effect<readonly Permission[] | undefined, StorageFailure> =>
  Effect.gen(function* () {
    const account = (yield* load(stateDir)).find((a) => a.name === name)
    const stored = account ?? DECOY
    const expected = Buffer.from(stored.hash, 'base64')
    const actual = yield* Effect.promise(() => scrypt(token, Buffer.from(stored.salt, 'base64'), HASH_BYTES))
    const match = expected.length === actual.length && timingSafeEqual(expected, actual)
    return account && match ? account.permissions : undefined
  })
