import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let crypto: typeof import('node:crypto') | undefined

/**
 * node:crypto, loaded on first use: about 3 ms of the start of every client command, and
 * `show` or `search` never hash. (Imported statically, the one-shot client's bundle loads it first thing.)
 */
export const nodeCrypto = (): typeof import('node:crypto') => (crypto ??= require('node:crypto') as typeof import('node:crypto'))
