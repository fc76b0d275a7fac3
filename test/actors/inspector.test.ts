import { describe, expect, it } from 'vitest'
import { inspectorHost, startStatelyInspector } from '../../src/actors/inspector.js'

describe('the inspector bridge', () => {
  it('listens on the server host it is given, and on loopback instead of every interface', async () => {
    expect(inspectorHost('0.0.0.0')).toBe('127.0.0.1')
    expect(inspectorHost('::')).toBe('127.0.0.1')
    expect(inspectorHost('10.1.2.3')).toBe('10.1.2.3')
    const bridge = await startStatelyInspector(0, '127.0.0.1')
    try {
      expect(bridge.address.address).toBe('127.0.0.1')
      expect(bridge.url).toBe(`http://127.0.0.1:${bridge.address.port}`)
      const page = await (await fetch(bridge.url)).text()
      expect(page).toContain(`new WebSocket("ws://127.0.0.1:${bridge.address.port}")`)
    } finally {
      bridge.stop()
    }
  })
})
