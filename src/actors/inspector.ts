import type { InspectionEvent } from 'xstate'

export type Inspect = (event: InspectionEvent) => void

/** Runs every given inspector on each inspection event; undefined when there is none (no cost at all). */
export const combineInspectors = (...inspectors: Array<Inspect | undefined>): Inspect | undefined => {
  const active = inspectors.filter((i): i is Inspect => i !== undefined)
  if (active.length === 0) return undefined
  if (active.length === 1) return active[0]
  return (event) => active.forEach((inspect) => inspect(event))
}

/** Keys that hold live objects (spawned actor refs): the inspector gets a placeholder. */
const LIVE_KEYS = new Set(['ref', 'io'])

/**
 * Starts a local bridge to the Stately inspector (@statelyai/inspect, WebSocket) and
 * returns the XState `inspect` callback plus the URL a person opens. Loaded only
 * when --inspect is given, so it costs nothing otherwise.
 */
export const startStatelyInspector = async (port: number) => {
  const [{ createWebSocketInspector }, { createInspectorServer }] = await Promise.all([
    import('@statelyai/inspect'),
    import('@statelyai/inspect/server'),
  ])
  const server = createInspectorServer({ port, autoOpen: false })
  const inspector = createWebSocketInspector({
    url: `ws://localhost:${port}`,
    serialize: (event) =>
      JSON.parse(JSON.stringify(event, (key, value) => (LIVE_KEYS.has(key) && typeof value !== 'string' ? `<${key}>` : value))),
  })
  return {
    inspect: inspector.inspect as Inspect,
    url: `http://localhost:${port}`,
    stop: () => {
      inspector.stop()
      server.stop()
    },
  }
}
