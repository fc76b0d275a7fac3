// node bench/lib/start-timeline.mjs RUNS -- ARGS... : where a one-shot command's start goes. Copies the built
// client (bin/ and dist/) to a temporary folder, adds `performance.now()` marks at each step of `bin/run.cjs` and
// of the bundle (found by their text: a step whose anchor is gone is named and left out), makes the copy's code
// cache, runs `node bin/run.cjs ARGS...` RUNS times and prints the median time of each mark since the process
// started and since the mark before it. Example, against a server on port 7777 with an empty folder:
//   node bench/lib/start-timeline.mjs 21 -- client show --port 7777 --dir /tmp/start-client
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const separator = process.argv.indexOf('--')
const runs = Number(process.argv[2] ?? 21)
const args = separator < 0 ? ['client', 'show'] : process.argv.slice(separator + 1)

const copy = mkdtempSync(path.join(tmpdir(), 'tor-start-timeline-'))
process.on('exit', () => rmSync(copy, { recursive: true, force: true }))
for (const part of ['bin', 'dist', 'package.json', 'scripts']) cpSync(path.join(root, part), path.join(copy, part), { recursive: true })
symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'))

const mark = (label) => `\nglobalThis.__mark?.(${JSON.stringify(label)});`
const anchors = [
  ['const runWithoutOclif = async (command, argv) => {', 'fast path entered'],
  ['await Promise.resolve().then(() => (init_one_shot(), one_shot_exports));', 'command modules evaluated'],
  ['static async connect(options) {', 'connect called'],
  ['removeOrphanDownloadsSync(folders.downloads);', 'folders ready'],
  ['\t\t\tconst many = {};', 'socket connected'],
  ['\t\t\tconst client = new TorClient(', 'client machine started', ';'],
  ['\t\tconst result = await client.run(command, progress)', 'command answered', ';'],
  ['\t\tawait client.close({ hangUp: true });', 'connection closed'],
]
const bundleFile = path.join(copy, 'dist/fast-client.cjs')
let bundle = readFileSync(bundleFile, 'utf8')
for (const [anchor, label, end] of anchors) {
  const at = bundle.indexOf(anchor)
  if (at < 0) {
    console.error(`no mark "${label}": its anchor is not in the bundle any more`)
    continue
  }
  // After the anchor, or after the statement it starts.
  const after = end ? bundle.indexOf(end, at + anchor.length) + end.length : at + anchor.length
  bundle = bundle.slice(0, after) + mark(label) + bundle.slice(after)
}
writeFileSync(bundleFile, bundle)
rmSync(`${bundleFile}.cache`, { force: true })
const entry = path.join(copy, 'bin/run.cjs')
const entrySource = readFileSync(entry, 'utf8').replace(
  "'use strict'\n",
  `'use strict'
const __marks = []
globalThis.__mark = (label) => __marks.push([label, performance.now()])
__mark('entry')
process.on('exit', () => { __mark('exit'); require('node:fs').writeSync(2, __marks.map(([l, t]) => '@@ ' + t.toFixed(3) + ' ' + l).join('\\n') + '\\n') })
`,
)
writeFileSync(entry, entrySource.replace("const { runWithoutOclif } = loadWithCodeCache(", "__mark('cache loader required')\n    const { runWithoutOclif } = loadWithCodeCache(").replace("if (await runWithoutOclif(", "__mark('bundle loaded')\n    if (await runWithoutOclif("))
// The copy's own code cache, made the way the build makes it.
spawnSync(process.execPath, [path.join(copy, 'scripts/warm-code-cache.mjs')], { stdio: 'ignore' })

const samples = []
for (let i = 0; i < runs; i++) {
  const run = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
  samples.push(run.stderr.split('\n').filter((line) => line.startsWith('@@ ')).map((line) => {
    const [, at, ...label] = line.split(' ')
    return [label.join(' '), Number(at)]
  }))
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1]
const labels = samples[0].map(([label]) => label)
for (const [i, label] of labels.entries()) {
  const at = median(samples.map((s) => s[i]?.[1] ?? Number.NaN))
  const step = i === 0 ? 0 : median(samples.map((s) => s[i][1] - s[i - 1][1]))
  console.log(`${at.toFixed(2).padStart(8)} ms  +${step.toFixed(2).padStart(6)}  ${label}`)
}
console.log(`${median(samples.map((s) => s.at(-1)[1] - s[0][1])).toFixed(2)} ms from the entry to exit (median of ${runs})`)
