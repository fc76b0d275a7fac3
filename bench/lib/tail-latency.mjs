// node bench/lib/tail-latency.mjs PORT COUNT ROUNDS : the concurrency scenario's clients (each: connect, show,
// download one-mib.bin, exit; all at once), with the p99 of each command kind and of the connects printed
// separately, round by round: which command makes the tail.
import { LoadClient } from './load-client.js'

const [port, count, rounds] = process.argv.slice(2).map(Number)
const p = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * q) / 100))]?.toFixed(0)
}
for (let round = 0; round < rounds; round++) {
  const ms = { connect: [], show: [], download: [] }
  let failures = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        const before = performance.now()
        const client = await LoadClient.connect(port)
        ms.connect.push(performance.now() - before)
        ms.show.push((await client.command('show')).ms)
        ms.download.push((await client.command('download', 'one-mib.bin')).ms)
        await client.command('exit')
        client.destroy()
      } catch {
        failures++
      }
    }),
  )
  const all = [...ms.show, ...ms.download]
  console.log(
    `round ${round + 1}: total ${(performance.now() - started).toFixed(0)} ms, p50 ${p(all, 50)} p99 ${p(all, 99)}; p99 of show ${p(ms.show, 99)}, download ${p(ms.download, 99)}, connect ${p(ms.connect, 99)}; ${failures} failures`,
  )
}
