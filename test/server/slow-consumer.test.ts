import { connect } from 'node:net'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'
import { startServer } from '../helpers/server.js'
import { openSse, payload } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

/** An SSE reader on a raw socket that can stop reading, as a stalled client does. */
function pausableReader(port: number) {
  const socket = connect(port, '127.0.0.1')
  const events: SseEvent[] = []
  const parser = createSseParser({ onEvent: (event) => events.push(event) })
  let head = true
  let headBuffer = ''
  socket.on('data', (chunk: Buffer) => {
    if (head) {
      headBuffer += chunk.toString('latin1')
      const end = headBuffer.indexOf('\r\n\r\n')
      if (end < 0) return
      head = false
      chunk = Buffer.from(headBuffer.slice(end + 4), 'latin1')
    }
    // Chunked framing: strip the size lines; good enough for a test that only reads events.
    parser.feed(Buffer.from(chunk.toString('latin1').replace(/\r\n[0-9a-f]+\r\n/g, ''), 'latin1'))
  })
  socket.on('error', () => {})
  socket.write('GET /v1/stream?snapshot=false HTTP/1.1\r\nHost: x\r\n\r\n')
  return { socket, events }
}

describe('slow consumers', () => {
  test('a stalled reader is conflated, never slows the others, and is cut past its deadline', async () => {
    // A rate that fills a stalled socket's kernel buffers within seconds while three fetch readers
    // in this (busy, shared) test process still keep up with it.
    const server = await startServer({ ratePerSec: 8000, slowConsumerTimeoutMs: 1500 })
    const others = await Promise.all(
      [0, 1, 2].map(() => openSse(`${server.url}/v1/stream?snapshot=false`)),
    )
    const stalled = pausableReader(server.port)
    await waitFor('the stalled reader connected', () => stalled.events.length > 0)
    stalled.socket.pause()
    await waitFor('the server to see it push back', () => server.stats().sse.slowEvents >= 1, {
      timeoutMs: 30_000,
      state: () => server.stats().sse,
    })
    // It left the live groups: frames no longer go to it, so nothing queues for it.
    await waitFor('the deadline to cut it', () => server.stats().sse.slowDisconnects === 1, {
      state: () => server.stats().sse,
    })
    expect(server.stats().sse.connections).toBe(3)
    const before = others.map((stream) => stream.events.length)
    await waitFor('the others still flowing', () =>
      others.every((stream, i) => stream.events.length > before[i]! + 500),
    )
    for (const stream of others) {
      stream.close()
      const ids = stream.events.map((event) => Number(event.lastEventId))
      // Unfiltered streams carry every id: any gap or repeat shows as a step other than 1.
      expect(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1)).toBe(true)
    }
    stalled.socket.destroy()
  })

  test('a reader that stalls and then drains gets one conflated snapshot saying which ids it replaces', async () => {
    const server = await startServer({ ratePerSec: 8000, slowConsumerTimeoutMs: 60_000 })
    const stalled = pausableReader(server.port)
    await waitFor('connected', () => stalled.events.length > 0)
    stalled.socket.pause()
    await waitFor('pushed back', () => server.stats().sse.slowEvents >= 1, { timeoutMs: 30_000 })
    stalled.socket.resume()
    await waitFor(
      'a conflated snapshot',
      () => stalled.events.some((event) => event.type === 'snapshot'),
      { timeoutMs: 20_000 },
    )
    await waitFor('live again after it', () => {
      const at = stalled.events.findIndex((event) => event.type === 'snapshot')
      return stalled.events.length > at + 10
    })
    stalled.socket.destroy()
    const at = stalled.events.findIndex((event) => event.type === 'snapshot')
    const snapshot = payload<{
      seq: number
      reset: boolean
      replaces: { from: string; to: string }
    }>(stalled.events[at]!)
    expect(snapshot.reset).toBe(true)
    expect(Number(snapshot.replaces.to)).toBe(snapshot.seq)
    expect(Number(snapshot.replaces.from)).toBeLessThanOrEqual(snapshot.seq)
    // Before it: contiguous ids up to the stall; after it: contiguous ids from the snapshot on.
    expect(Number(stalled.events[at - 1]!.lastEventId)).toBe(Number(snapshot.replaces.from) - 1)
    expect(Number(stalled.events[at + 1]!.lastEventId)).toBe(snapshot.seq + 1)
    expect(server.stats().sse.conflations).toBe(1)
  })

  test('a WebSocket past its backpressure bound is closed by the server, never left to buffer', async () => {
    const server = await startServer({ ratePerSec: 8000, wsMaxBackpressureBytes: 64 * 1024 })
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`)
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('open', resolve))
    socket.send('{"op":"subscribe","symbols":"*","snapshot":false}')
    await new Promise((resolve) => socket.once('message', resolve))
    // Stop reading: the kernel buffers fill, then uWS's own buffer passes the bound.
    ;(socket as unknown as { _socket: { pause(): void } })._socket.pause()
    await waitFor('the server to close it', () => server.stats().ws.connections === 0, {
      timeoutMs: 30_000,
      state: () => server.stats().ws,
    })
    socket.terminate()
  })
})
