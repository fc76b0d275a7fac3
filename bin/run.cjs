#!/usr/bin/env node
'use strict'
// oclif wraps error messages at 80 columns when stderr is not a terminal; scripts
// reading our errors get one line per error instead. (Set before oclif loads: it reads it once.
// isatty, not process.stderr.isTTY: making process.stderr costs about 3 ms, and a command that
// succeeds quietly never needs it.)
if (!require('node:tty').isatty(2) && process.env.OCLIF_COLUMNS === undefined) process.env.OCLIF_COLUMNS = '100000'

// A plain one-shot client command starts without oclif (about 75 ms sooner), from one bundled
// file with a V8 code cache (about 20 ms sooner again); anything else, oclif runs. CommonJS, as
// is what it loads first: an ES module as the entry point costs Node's ESM loader (about 3 ms).
const path = require('node:path')
const [topic, command, ...rest] = process.argv.slice(2)
const main = async () => {
  if (topic === 'client') {
    const { loadWithCodeCache } = require('../dist/cli/cached-script.cjs')
    const { runWithoutOclif } = loadWithCodeCache(path.join(__dirname, '../dist/fast-client.cjs'))
    if (await runWithoutOclif(command, rest)) return
  }
  const { execute } = require('@oclif/core/execute')
  await execute({ dir: __dirname })
}
main()
