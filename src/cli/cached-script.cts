import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, Module } from 'node:module'
import * as path from 'node:path'
import { Script } from 'node:vm'

/**
 * Loads a CommonJS file with a V8 code cache beside it (`<file>.cache`): compiling the one-shot
 * client's bundle (Effect, XState and ours, 570 KB) was about 17 ms of every command's start, and
 * Node 20 keeps no code cache for ES modules or `require` (`module.enableCompileCache` came in 22).
 * The cache is V8's own format, checked by V8 against the source and the engine: one made for
 * another source, another Node or other V8 flags is rejected, and the file is then compiled as
 * usual. A missing or rejected cache is written when the process exits, after the command ran, so
 * that it also holds the functions the command compiled on the way; a folder that cannot be written
 * to (a read-only install) only means compiling each time. (This module is CommonJS because
 * bin/run.cjs is: an ES module as the entry point costs Node's ESM loader, about 3 ms more.)
 */
export const loadWithCodeCache = (file: string): unknown => {
  const cacheFile = `${file}.cache`
  const source = readFileSync(file, 'utf8')
  let cachedData: Buffer | undefined
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // No cache yet: compiled as usual, and one is written at exit.
  }
  const script = new Script(wrapCommonJs(source), { filename: file, cachedData })
  if (cachedData === undefined || script.cachedDataRejected === true) process.once('exit', () => writeCodeCache(script, cacheFile))
  const module = { exports: {} as unknown }
  const load = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: unknown, filename: string, dirname: string) => void
  load(module.exports, createRequire(file), module, file, path.dirname(file))
  return module.exports
}

/** Node's CommonJS wrapper (not in the typings): `(function (exports, require, module, __filename, __dirname) { ... })`. */
const wrapCommonJs = (source: string): string => (Module as unknown as { wrap(source: string): string }).wrap(source)

/** Written whole under another name, then renamed: two commands exiting together never leave half a cache. */
const writeCodeCache = (script: Script, cacheFile: string): void => {
  const temporary = `${cacheFile}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, script.createCachedData())
    renameSync(temporary, cacheFile)
  } catch {
    rmSync(temporary, { force: true })
  }
}
