/**
 * Baseline: the WebSocket fan-out a careful engineer writes with `ws`. Each event is encoded once
 * as tickstorm's message shape (a JSON array of `{id, event, data}`) into one Buffer; `ws` adds
 * only a frame header per socket and corks header and payload into one write. A socket that
 * buffers more than 1 MiB (tickstorm's bound) skips events until it drains (loss, never queued).
 * Every socket gets every event: the subscribe message is read and ignored.
 *
 *   node dist/bench/baselines/ws-fanout.js --port 9000 --rate 100
 */

import { createServer } from 'node:http'
import { type WebSocket, WebSocketServer } from 'ws'
import { parseBaselineArgs, SYMBOLS_BODY, startFixedRate, tickJson } from './fixed-rate-feed.js'

const MAX_BUFFERED_BYTES = 1 << 20
const { port, ratePerSec } = parseBaselineArgs(process.argv)

const server = createServer((req, res) => {
  const found = req.url?.split('?')[0] === '/v1/symbols'
  res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' })
  res.end(found ? SYMBOLS_BODY : '{"error":{"code":"TS_ERR_NOT_FOUND"}}')
})
const wss = new WebSocketServer({ server, path: '/v1/ws', perMessageDeflate: false })
const sockets = new Set<WebSocket>()
wss.on('connection', (socket) => {
  sockets.add(socket)
  socket.on('close', () => sockets.delete(socket))
  socket.on('error', () => socket.terminate())
})

startFixedRate(ratePerSec, (q, scheduledUs) => {
  const message = Buffer.from(`[{"id":"${q}","event":"quote","data":${tickJson(q, scheduledUs)}}]`)
  for (const socket of sockets) {
    if (socket.bufferedAmount <= MAX_BUFFERED_BYTES) socket.send(message, { binary: false })
  }
})

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  if (address !== null && typeof address === 'object')
    console.log(`http://127.0.0.1:${address.port}`)
})
