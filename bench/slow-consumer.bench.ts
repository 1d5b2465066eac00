/**
 * Does one stalled reader hurt everyone else? Runs the same SSE workload twice against the same
 * kind of embedded server: once plain (the baseline), once with extra raw-socket readers that stop
 * reading right after connecting. Prints the others' p99 in both runs, the ratio, and the server's
 * peak RSS, so the cost of a slow consumer is read against a baseline measured in the same run.
 *
 *   npm run build && node dist/bench/slow-consumer.bench.js [subscribers] [stalledReaders]
 */

import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { runScenario } from '../src/harness/runner.js'
import { parseScenario } from '../src/harness/scenario.js'

const subscribers = Number(process.argv[2] ?? 500)
const stalledReaders = Number(process.argv[3] ?? 5)
const bin = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))

const scenario = parseScenario(
  `name: slow-consumer-bench
description: SSE fan-out with and without stalled readers
target: embedded
server: { preset: normal, seed: 1, frameMs: 5, ratePerSec: 1000 }
transports: [sse]
subscribers: { count: ${subscribers}, rampPerSec: 1000, watchList: { size: 10, pick: zipf } }
warmupSec: 3
durationSec: 15
`,
  'slow-consumer-bench.yaml',
)

async function run(label: string, stalled: number) {
  const sockets: Socket[] = []
  try {
    const outcome = await runScenario(scenario, {
      serverBin: bin,
      scenarioFile: 'slow-consumer-bench.yaml',
      commit: 'bench',
      onTarget: (url) => {
        const { hostname, port } = new URL(url)
        for (let i = 0; i < stalled; i++) {
          const socket = connect(Number(port), hostname)
          socket.on('error', () => {})
          socket.write('GET /v1/stream?snapshot=false HTTP/1.1\r\nHost: x\r\n\r\n')
          socket.once('data', () => socket.pause())
          sockets.push(socket)
        }
      },
    })
    const sse = outcome.result.transports[0]!
    console.log(
      `${label.padEnd(26)} p50 ${(sse.latencyUs.p50 / 1000).toFixed(1)} ms  p99 ${(sse.latencyUs.p99 / 1000).toFixed(1)} ms  deliveries/s ${Math.round(sse.deliveriesPerSec)}  server RSS max ${((sse.server?.rssBytesMax ?? 0) / 2 ** 20).toFixed(1)} MiB  valid ${sse.validity.valid}`,
    )
    return sse
  } finally {
    for (const socket of sockets) socket.destroy()
  }
}

const baseline = await run('baseline', 0)
const withStalled = await run(`with ${stalledReaders} stalled readers`, stalledReaders)
console.log(
  `p99 ratio (stalled / baseline): ${(withStalled.latencyUs.p99 / baseline.latencyUs.p99).toFixed(2)}  (target ≤ 1.10)`,
)
