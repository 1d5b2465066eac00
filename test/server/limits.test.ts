import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { startServer } from '../helpers/server.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

describe('connection limits and shedding', () => {
  test('past the limit each transport is shed with its own signal, and a freed slot is reused', async () => {
    const server = await startServer({
      maxConnections: 2,
      ratePerSec: 1,
      drainRetryMinMs: 4000,
      drainRetryMaxMs: 6000,
    })
    const a = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    const b = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    await waitFor('two streams', () => server.stats().sse.connections === 2)

    // SSE: 200, a jittered retry: and the end (never 503: EventSource would give up for good).
    const shed = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    expect(shed.status).toBe(200)
    await shed.ended
    expect(shed.retries).toHaveLength(1)
    expect(shed.retries[0]).toBeGreaterThanOrEqual(4000)
    expect(shed.retries[0]).toBeLessThanOrEqual(6000)
    expect(shed.events).toHaveLength(0)

    // Long polling: 503 with Retry-After and a coded error.
    const poll = await fetch(
      `${server.url}/v1/poll?symbols=AAPL&cursor=${server.feed.headSeq}&timeoutMs=5000`,
    )
    expect(poll.status).toBe(503)
    expect(poll.headers.get('retry-after')).toBe('1')
    expect(((await poll.json()) as { error: { code: string } }).error.code).toBe(
      'TS_ERR_OVERLOADED',
    )

    // WebSocket: refused at the upgrade with 503.
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`)
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
      socket.on('open', () => resolve(101))
      socket.on('error', () => {})
    })
    expect(status).toBe(503)
    expect(server.stats().ws.rejected).toBe(1)

    // A slot freed by a closing stream is taken by the next one.
    a.close()
    await waitFor('a slot freed', () => server.stats().sse.connections === 1)
    const c = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    await waitFor('the new stream admitted', () => server.stats().sse.connections === 2)
    expect(c.isEnded()).toBe(false)
    b.close()
    c.close()
  })

  test('a per-address limit bounds one client without touching the total', async () => {
    const server = await startServer({ maxConnectionsPerAddress: 1, ratePerSec: 1 })
    const first = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    await waitFor('one stream', () => server.stats().sse.connections === 1)
    const second = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    await second.ended
    expect(second.retries).toHaveLength(1)
    expect(server.stats().sse.connections).toBe(1)
    first.close()
  })
})
