// The hostile side of the "hostile load" bench scenario, in its own process so that its
// event loop does not slow the normal clients being measured:
//   node hostile-load.mjs PORT STALLED FLOOD
// opens STALLED uploads from ten addresses (127.0.0.10-19) that stall after their first byte,
// then FLOOD connections at once from 127.0.0.9 (over --max-per-ip: the rest are refused),
// prints one JSON line {stalled, accepted, refused}, and holds everything until killed.
import { LoadClient } from './load-client.js'

const [port, stalledCount, floodCount] = process.argv.slice(2).map(Number)
const held = []
for (let i = 0; i < stalledCount; i++) {
  const c = await LoadClient.connect(port, `127.0.0.${10 + (i % 10)}`)
  c.send(`upload stalled-${i}.bin\n1000000000\n`)
  if ((await c.line()) !== 'ok' || (await c.line()) !== 'ok') throw new Error('stalled upload refused')
  c.send('x')
  held.push(c)
}
let accepted = 0
let refused = 0
const wave = await Promise.allSettled(Array.from({ length: floodCount }, () => LoadClient.connect(port, '127.0.0.9')))
await Promise.all(
  wave.map(async (w) => {
    if (w.status !== 'fulfilled') return refused++
    // Refused ones say why and close; accepted ones stay as idle sessions (search answers ok, end).
    w.value.send('search nothing-matches\n')
    const first = await w.value.line().catch(() => '')
    if (first === 'ok') {
      accepted++
      held.push(w.value)
    } else refused++
  }),
)
console.log(JSON.stringify({ stalled: held.length - accepted, accepted, refused }))
setInterval(() => undefined, 1 << 30)
