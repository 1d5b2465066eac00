/**
 * How fast can 19k SSE subscribers connect on this machine, and what does the harness add? One
 * run, one fresh server each (an idle one-symbol market):
 *
 * - bare: a `node:net` loop on this thread that opens the connections (≤ 400 in flight, the
 *   harness's 2 × 200, over the same loopback source addresses the harness uses), sends the
 *   request and counts a connection as up at its first response bytes: the floor any Node
 *   client pays here (a socket, the handshake, one write, one read);
 * - harness: the same count through `tickstorm run` machinery (bench/fanout's idle workload),
 *   timed from the ramp's start to everyone connected.
 *
 *   npm run build && node dist/bench/connect.bench.js [--quick]
 *
 * Writes results/bench-connect.{txt,json} with the machine, Node and commit.
 */

import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startEmbeddedServer } from '../src/harness/embedded-target.js'
import { sourceAddresses } from '../src/harness/target.js'
import { IDLE_MARKET, measureStream, SERVER_BIN, serverBlock } from './fanout/measure.js'
import { benchHeader, fmt, saveResult } from './fanout/report.js'

const quick = process.argv.includes('--quick')
const COUNT = quick ? 3000 : 19_000
const IN_FLIGHT = 400
const RESULT = fileURLToPath(new URL('../../results/bench-connect', import.meta.url))
const header = benchHeader(`node dist/bench/connect.bench.js${quick ? ' --quick' : ''}`)

interface BareResult {
  readonly seconds: number
  readonly cpuUsPerConnection: number
  readonly systemUsPerConnection: number
}

/** Opens `count` streams, at most IN_FLIGHT at once; resolves when all have sent bytes. */
async function bareConnects(url: string, count: number): Promise<BareResult> {
  const { hostname, port, host } = new URL(url)
  const request = Buffer.from(
    `GET /v1/stream?symbols=AAPL HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`,
  )
  const addresses = sourceAddresses(url, count)
  const buffer = Buffer.allocUnsafe(64 * 1024)
  const sockets: Socket[] = []
  let started = 0
  let up = 0
  let inFlight = 0
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${up} of ${count} up in 60 s`)), 60_000)
    const pump = (): void => {
      while (inFlight < IN_FLIGHT && started < count) {
        const localAddress =
          addresses.length > 0 ? addresses[started % addresses.length] : undefined
        started++
        inFlight++
        let first = true
        const socket = connect({
          host: hostname,
          port: Number(port),
          ...(localAddress === undefined ? {} : { localAddress }),
          onread: {
            buffer,
            callback: () => {
              if (first) {
                first = false
                inFlight--
                if (++up === count) {
                  clearTimeout(timer)
                  resolve()
                } else pump()
              }
              return true
            },
          },
        })
        socket.on('connect', () => socket.write(request))
        socket.on('error', (error) => {
          clearTimeout(timer)
          reject(error)
        })
        sockets.push(socket)
      }
    }
    pump()
  })
  const seconds = (performance.now() - startedAt) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  for (const socket of sockets) socket.resetAndDestroy()
  return {
    seconds,
    cpuUsPerConnection: (cpu.user + cpu.system) / count,
    systemUsPerConnection: cpu.system / count,
  }
}

console.log(header)
const server = await startEmbeddedServer({ bin: SERVER_BIN, ...IDLE_MARKET })
let bare: BareResult
try {
  bare = await bareConnects(server.url, COUNT)
} finally {
  await server.stop()
}
const harness = await measureStream({
  workload: 'connect',
  server: 'tickstorm',
  transport: 'sse',
  subscribers: COUNT,
  ratePerSec: 0,
  target: { embedded: serverBlock(IDLE_MARKET) },
  watchList: '{ size: 1 }',
  rampPerSec: 20_000,
  warmupSec: 1,
  durationSec: 2,
})
const lines = [
  `${COUNT} SSE connections to tickstorm, ≤ ${IN_FLIGHT} in flight`,
  `bare node:net loop: all up in ${fmt(bare.seconds, 2)} s, client CPU ${fmt(bare.cpuUsPerConnection, 0)} µs per connection (${fmt(bare.systemUsPerConnection, 0)} of it kernel)`,
  `harness (2 worker threads): all connected in ${fmt(harness.allConnectedSec, 2)} s from the ramp's start, connect p99 ${fmt(harness.connectP99Ms)} ms` +
    (harness.allConnectedSec === null
      ? ''
      : `: ×${fmt(harness.allConnectedSec / bare.seconds, 2)} the bare loop`),
]
for (const text of lines) console.log(text)
saveResult(RESULT, header, lines, { count: COUNT, inFlight: IN_FLIGHT, bare, harness })
