// Bundles each command with what it imports (our modules, effect, xstate...) into one file in
// place of tsc's output, with the modules shared by several commands in dist/bundle-chunks. Node
// spent more time finding, reading and linking the few hundred small ESM files of effect and our
// code than running them: a one-shot command's start-up. oclif, and what is imported only on
// demand (the AWS SDK for --storage s3://, the Stately inspector), stay outside, loaded when used.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { rolldown } from 'rolldown'

const commands = path.resolve('dist/commands')
const inputs = {}
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name)
    if (statSync(file).isDirectory()) walk(file)
    else if (name.endsWith('.js')) inputs[path.relative(commands, file).slice(0, -'.js'.length)] = file
    // tsc's source map no longer describes the bundled file.
    else if (name.endsWith('.js.map')) rmSync(file)
  }
}
walk(commands)
const entries = Object.fromEntries(Object.entries(inputs).map(([name, file]) => [`commands/${name}`, file]))
const bundle = await rolldown({
  input: entries,
  platform: 'node',
  external: [/^node:/, /^@oclif\//, /^@aws-sdk\//, /^@smithy\//, /^@statelyai\//],
  logLevel: 'warn',
})
rmSync('dist/bundle-chunks', { recursive: true, force: true })
await bundle.write({
  dir: 'dist',
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: 'bundle-chunks/[name]-[hash].js',
  sourcemap: false,
})
await bundle.close()
console.log(`bundled ${Object.keys(inputs).length} commands`)

// The start path of the one-shot client commands that does not load oclif (bin/run.cjs tries it
// first): one CommonJS file, so that it can be loaded with a V8 code cache (src/cli/cached-script.ts).
const fastClient = await rolldown({
  input: path.resolve('dist/cli/fast-client.js'),
  platform: 'node',
  external: [/^node:/, /^@oclif\//],
  logLevel: 'warn',
})
for (const stale of ['dist/fast-client.js', 'dist/fast-client.cjs.cache']) rmSync(stale, { force: true })
// ASCII only: V8 keeps an ASCII source in one byte per character (a single ’ made the whole file two-byte, read and scanned at twice the size).
await fastClient.write({ file: 'dist/fast-client.cjs', format: 'cjs', codeSplitting: false, sourcemap: false, charset: 'ascii' })
await fastClient.close()
// What charset leaves is in comments (xstate's typographic quotes): escaped there too, where it means nothing.
const fastSource = readFileSync('dist/fast-client.cjs', 'utf8')
writeFileSync('dist/fast-client.cjs', fastSource.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
// Its code cache, made by the commands' runs (scripts/warm-code-cache.mjs; the cache is written when that process exits).
// Only a speed-up: without it the first command compiles the bundle and writes the cache (if it may write here).
const warm = spawnSync(process.execPath, ['scripts/warm-code-cache.mjs'], { stdio: 'inherit' })
if (warm.status !== 0 || !existsSync('dist/fast-client.cjs.cache')) {
  console.warn('no code cache was made for dist/fast-client.cjs: the first client command will make it (about 15 ms slower until then)')
}

