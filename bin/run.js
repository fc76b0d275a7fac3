#!/usr/bin/env node
// oclif wraps error messages at 80 columns when stderr is not a terminal; scripts
// reading our errors get one line per error instead. (Set before oclif loads: it reads it once.)
if (!process.stderr.isTTY && process.env.OCLIF_COLUMNS === undefined) process.env.OCLIF_COLUMNS = '100000'

// A plain one-shot client command starts without oclif (about 75 ms sooner); anything else, oclif runs.
const [topic, command, ...rest] = process.argv.slice(2)
const { runWithoutOclif } = topic === 'client' ? await import('../dist/fast-client.js') : {}
if (!(await runWithoutOclif?.(command, rest))) {
  const { execute } = await import('@oclif/core/execute')
  await execute({ dir: import.meta.url })
}
