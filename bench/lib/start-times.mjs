// node bench/lib/start-times.mjs '<json array of commands>' [RUNS] : runs each command (an argv array) RUNS times
// (30 by default), in turn and starting one further each round, and prints each one's median wall time, its ratio to
// the first command's, and the median of its paired differences to the first (a one-shot command's start against
// `node -e 0`, or two builds against each other, on a noisy machine). Example:
//   node bench/lib/start-times.mjs '[["node","-e","0"],["node","bin/run.cjs","client","show","--port","7777"]]' 40
import { spawnSync } from 'node:child_process'

const commands = JSON.parse(process.argv[2])
const runs = Number(process.argv[3] ?? 30)
const times = commands.map(() => [])
for (let round = 0; round < runs; round++) {
  for (let j = 0; j < commands.length; j++) {
    const i = (j + round) % commands.length
    const [file, ...args] = commands[i]
    const started = performance.now()
    spawnSync(file, args, { stdio: 'ignore' })
    times[i].push(performance.now() - started)
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1]
for (const [i, command] of commands.entries()) {
  const paired = median(times[i].map((t, k) => t - times[0][k]))
  console.log(`${median(times[i]).toFixed(1).padStart(7)} ms  ${(median(times[i]) / median(times[0])).toFixed(2)}x  ${paired >= 0 ? '+' : ''}${paired.toFixed(1)} ms paired  ${command.join(' ')}`)
}
