import type { InspectionEvent } from 'xstate'
import { redactLine } from '../protocol/messages.js'

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

const bridgePage = (wsUrl: string) => `<!DOCTYPE html>
<html>
<head><title>Tor: Stately inspector</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style></head>
<body>
<iframe id="inspector" src="https://stately.ai/inspect"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      buffer.splice(0).forEach((event) => iframe.contentWindow.postMessage(event, '*'));
    }
  });
  const ws = new WebSocket(${JSON.stringify(wsUrl)});
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script>
</body>
</html>`

/** The address the inspector listens on: the server's own host, but never every interface. */
export const inspectorHost = (host: string): string => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host)

/**
 * Starts a local bridge to the Stately inspector (@statelyai/inspect over a WebSocket)
 * on `host` and `port`, and returns the XState `inspect` callback plus the URL a person
 * opens. The page embeds stately.ai, so the browser needs internet access. Loaded only
 * when --inspect is given, so it costs nothing otherwise. (The package's own bridge
 * listens on every interface; this one listens only where it is told.)
 */
export const startStatelyInspector = async (port: number, host = '127.0.0.1') => {
  const [{ createWebSocketInspector }, http, { WebSocketServer, WebSocket }] = await Promise.all([
    import('@statelyai/inspect'),
    import('node:http'),
    import('ws'),
  ])
  const urlHost = host.includes(':') ? `[${host}]` : host
  let bound = port
  const httpServer = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end(bridgePage(`ws://${urlHost}:${bound}`))
  })
  const wss = new WebSocketServer({ server: httpServer })
  const recent: string[] = []
  wss.on('connection', (ws) => {
    for (const message of recent) ws.send(message)
    ws.on('message', (data) => {
      const message = data.toString()
      recent.push(message)
      if (recent.length > 200) recent.shift()
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message)
    })
  })
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(port, host, () => resolve())
  })
  bound = (httpServer.address() as { port: number }).port
  const inspector = createWebSocketInspector({
    url: `ws://${urlHost}:${bound}`,
    serialize: (event) =>
      JSON.parse(
        JSON.stringify(event, (key, value) =>
          LIVE_KEYS.has(key) && typeof value !== 'string'
            ? `<${key}>`
            : key === 'token'
              ? '<token>'
              : key === 'text' && typeof value === 'string'
                ? redactLine(value)
                : value,
        ),
      ),
  })
  return {
    inspect: inspector.inspect as Inspect,
    url: `http://${urlHost}:${bound}`,
    /** Where the bridge listens. */
    address: httpServer.address() as { address: string; port: number },
    stop: () => {
      inspector.stop()
      wss.close()
      httpServer.close()
    },
  }
}
