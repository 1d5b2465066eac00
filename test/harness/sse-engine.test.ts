/**
 * The SSE engine's reads (one `onread` buffer shared by all its sockets, the tick fast path in
 * front of the parser) against a raw TCP server that splits everything: the response head comes
 * in pieces, and the body in HTTP chunks cut anywhere inside events. Every event must be counted
 * once with its symbol's sequence intact, and after the server ends the stream the subscriber
 * must come back with the last id it received as `Last-Event-ID`.
 */

import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { nowUs } from '../../src/clock.js'
import { createSseEngine } from '../../src/harness/engines/sse-engine.js'
import { createEventReader } from '../../src/harness/event-fields.js'
import { createTickstormAdapter } from '../../src/harness/targets/tickstorm.js'
import {
  createTransportMetrics,
  type TransportMetrics,
} from '../../src/harness/transport-metrics.js'
import { encodeSseEvent } from '../../src/wire/sse-frame.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

/** Lets the bytes written so far leave as their own TCP segment, so the client reads them apart. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 2))

/** Events `from..to` (ids), alternating two symbols, each with its own `q` from 1. */
function events(from: number, to: number): Uint8Array {
  const parts: string[] = []
  for (let id = from; id <= to; id++) {
    const sym = id % 2 === 0 ? 'AAPL' : 'MSFT'
    const q = Math.ceil(id / 2)
    const json = `{"ts":${nowUs()},"sym":"${sym}","q":${q},"bp":1.5,"bs":100,"ap":1.51,"as":200}`
    parts.push(new TextDecoder().decode(encodeSseEvent(id, 'quote', json)))
  }
  return new TextEncoder().encode(parts.join(''))
}

/** Writes `body` as HTTP chunks of the given sizes (cycled), pausing between them. */
async function writeChunked(socket: Socket, body: Uint8Array, sizes: readonly number[]) {
  let offset = 0
  for (let i = 0; offset < body.length; i++) {
    const size = Math.min(sizes[i % sizes.length]!, body.length - offset)
    socket.write(`${size.toString(16)}\r\n`)
    socket.write(body.subarray(offset, offset + size))
    socket.write('\r\n')
    offset += size
    await pause()
  }
}

test('split heads and events at any cut are each delivered once, and a reconnect resumes from the last id', async () => {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    let request = ''
    socket.on('data', async (bytes) => {
      request += bytes.toString('latin1')
      if (!request.endsWith('\r\n\r\n')) return
      requests.push(request)
      const first = requests.length === 1
      for (const piece of [
        'HTTP/1.1 200 OK\r\nContent-Ty',
        'pe: text/event-stream\r\nTransfer-Encoding: chu',
        'nked\r\n\r',
        '\n',
      ]) {
        socket.write(piece)
        await pause()
      }
      const preamble = new TextEncoder().encode('retry: 10\n:connected\n\n')
      if (first) {
        await writeChunked(socket, preamble, [preamble.length])
        // Cuts inside ids, field names, digits, the symbol, the data line and the blank line.
        await writeChunked(socket, events(1, 40), [1, 7, 50, 300, 3, 123, 2, 400])
        socket.end('0\r\n\r\n')
      } else {
        await writeChunked(socket, events(41, 46), [1000])
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')

  const metrics: TransportMetrics = createTransportMetrics('sse', { nowMs: Date.now() })
  cleanups.push(() => metrics.destroy())
  const wire = createTickstormAdapter({ headers: {}, query: {}, auth: null }).wire
  const engine = createSseEngine({
    baseUrl: new URL(`http://127.0.0.1:${address.port}`),
    metrics,
    localAddresses: [],
    retryMs: 10,
    wire,
    reader: createEventReader(wire.event),
    universe: [],
  })
  const subscriber = engine.start(['AAPL', 'MSFT'], 0)
  cleanups.push(() => subscriber.close())

  await waitFor('46 events over two connections', () => metrics.counters.deliveries >= 46, {
    state: () => ({ counters: metrics.counters, requests: requests.length }),
  })
  expect(requests).toHaveLength(2)
  expect(requests[0]).not.toContain('Last-Event-ID')
  expect(requests[1]).toContain('Last-Event-ID: 40\r\n')
  expect(metrics.counters).toMatchObject({
    deliveries: 46,
    gaps: 0,
    duplicates: 0,
    outOfOrder: 0,
    errors: 0,
    reconnects: 1,
    connects: 2,
  })
})
