/**
 * Baseline: the SSE fan-out a careful engineer writes with `node:http` in 50 lines. Each event is
 * encoded once into one Buffer and written to every stream; a stream whose socket pushes back
 * (`writableNeedDrain`) skips events until it drains (counted as loss by the harness, never
 * queued); Node corks a chunked response's writes until the next tick. Also answers
 * `/v1/snapshot` and `/v1/poll` (from cached bytes) for the request/response comparison.
 *
 *   node dist/bench/baselines/node-http-sse.js --port 9000 --rate 100
 */

import { createServer, type ServerResponse } from 'node:http'
import { parseBaselineArgs, SYMBOLS_BODY, startFixedRate, tickJson } from './fixed-rate-feed.js'

const { port, ratePerSec } = parseBaselineArgs(process.argv)
const streams = new Set<ServerResponse>()
let latest = tickJson(0, 0)
let snapshotBody = Buffer.from(`{"seq":0,"quotes":[${latest}]}`)
let pollBody = Buffer.from('{"events":[],"cursor":"0"}')

const server = createServer((req, res) => {
  const path = req.url?.split('?')[0]
  if (path === '/v1/stream') {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
    })
    res.write('retry: 2000\n:connected\n\n')
    streams.add(res)
    res.on('close', () => streams.delete(res))
    return
  }
  const body =
    path === '/v1/symbols'
      ? SYMBOLS_BODY
      : path === '/v1/snapshot'
        ? snapshotBody
        : path === '/v1/poll'
          ? pollBody
          : null
  res.writeHead(body === null ? 404 : 200, { 'Content-Type': 'application/json' })
  res.end(body ?? '{"error":{"code":"TS_ERR_NOT_FOUND"}}')
})
server.keepAliveTimeout = 60_000

startFixedRate(ratePerSec, (q, scheduledUs) => {
  latest = tickJson(q, scheduledUs)
  const frame = Buffer.from(`id: ${q}\nevent: quote\ndata: ${latest}\n\n`)
  for (const res of streams) if (!res.writableNeedDrain) res.write(frame)
  snapshotBody = Buffer.from(`{"seq":${q},"quotes":[${latest}]}`)
  pollBody = Buffer.from(`{"events":[],"cursor":"${q}"}`)
})

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  if (address !== null && typeof address === 'object')
    console.log(`http://127.0.0.1:${address.port}`)
})
