/**
 * `serve --workers`: the same workloads against one worker (the plain single-process server) and
 * two (a cluster: one market on the main thread, two uWS apps in worker threads on one port), in
 * one run, one server at a time, with the fan-out benchmark's harness and table (bench/fanout/).
 * On this 2-core machine the load generator shares the cores with the server: a second worker
 * can only use what the generator leaves.
 *
 *   npm run build && node dist/bench/workers.bench.js [--quick]
 *
 * - broadcast: N SSE subscribers × one symbol, everyone gets everything, at R events/s from the
 *   market (a bursty Hawkes process at that mean; the rows show the measured events/s per
 *   subscriber). The harness spends about twice the server's CPU per delivery here.
 * - snapshot: autocannon, 50 keep-alive connections, `GET /v1/snapshot` of the whole 500-symbol
 *   universe (≈ 30 KB of JSON built per request): the server is the bottleneck, the client cheap.
 *
 * Server CPU is read from /proc for the server process, every thread, over the measured window.
 * Writes results/bench-workers.{txt,json} with the machine, Node and commit.
 */

import { fileURLToPath } from 'node:url'
import { startEmbeddedServer } from '../src/harness/embedded-target.js'
import {
  type HttpMeasurement,
  measureHttp,
  measureStream,
  oneSymbolMarket,
  type Row,
  SERVER_BIN,
} from './fanout/measure.js'
import { benchHeader, COLUMNS, failedRow, fmt, kilo, line, saveResult } from './fanout/report.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const RESULT = fileURLToPath(new URL('../../results/bench-workers', import.meta.url))
const header = benchHeader(`node dist/bench/workers.bench.js ${args.join(' ')}`)

/** [subscribers, market events/s]: loads one worker serves validly (bench-fanout's broadcast). */
const PLAN: readonly (readonly [number, number])[] = quick
  ? [[2000, 50]]
  : [
      [1000, 100],
      [2000, 50],
      [5000, 10],
    ]
const WORKERS = [1, 2] as const

async function broadcast(subscribers: number, ratePerSec: number, workers: number): Promise<Row> {
  const base = {
    workload: 'broadcast',
    server: workers === 1 ? '1 worker' : `${workers} workers`,
    transport: 'sse',
    subscribers,
    ratePerSec,
    watchList: '{ size: 1 }',
    rampPerSec: Math.min(2000, subscribers),
    warmupSec: 3,
    durationSec: quick ? 5 : 10,
  } as const
  const server = await startEmbeddedServer({
    bin: SERVER_BIN,
    ...oneSymbolMarket(ratePerSec),
    workers,
  })
  try {
    return await measureStream({ ...base, target: { url: server.url, pid: server.pid } })
  } catch (error) {
    return failedRow(base, base.server, (error as Error).message)
  } finally {
    await server.stop()
  }
}

const ratio = (a: number | null, b: number | null, digits = 2) =>
  a === null || b === null || b === 0 ? '—' : `×${(a / b).toFixed(digits)}`

console.log(header)
console.log(COLUMNS)
const lines = [COLUMNS]
const ratios: string[] = []
const rows: Row[] = []
for (const [subscribers, ratePerSec] of PLAN) {
  const byWorkers = new Map<number, Row>()
  for (const workers of WORKERS) {
    const row = await broadcast(subscribers, ratePerSec, workers)
    byWorkers.set(workers, row)
    rows.push(row)
    lines.push(line(row))
    console.log(line(row))
  }
  const one = byWorkers.get(1)!
  const two = byWorkers.get(2)!
  ratios.push(
    `${kilo(subscribers).padStart(4)} × ${String(ratePerSec).padStart(3)}/s  2 workers / 1: deliveries/s ${ratio(two.deliveriesPerSec, one.deliveriesPerSec)}, p50 ${ratio(two.p50Ms, one.p50Ms)}, p99 ${ratio(two.p99Ms, one.p99Ms)} (${fmt(one.p99Ms)} → ${fmt(two.p99Ms)} ms), server CPU ${ratio(two.serverCpuPercent, one.serverCpuPercent)} (${fmt(one.serverCpuPercent, 0)} → ${fmt(two.serverCpuPercent, 0)} %), per delivery ${ratio(two.serverCpuSecPerMillion, one.serverCpuSecPerMillion)}`,
  )
  console.log(ratios.at(-1))
}

/** The snapshot workload: the whole universe, as a page loading or a reconnect storm asks it. */
const SNAPSHOT_COLUMNS =
  'server     path                 conns     req/s   p50 ms   p99 ms  non-2xx  srvCPU%  srvCPU µs/req'
const snapshotLines = [SNAPSHOT_COLUMNS]
console.log(`\n${SNAPSHOT_COLUMNS}`)
const snapshots = new Map<number, HttpMeasurement>()
for (const workers of WORKERS) {
  const server = await startEmbeddedServer({
    bin: SERVER_BIN,
    preset: 'normal',
    seed: 1,
    frameMs: 5,
    speed: 1,
    ratePerSec: 1,
    workers,
  })
  try {
    const measured = await measureHttp(`${server.url}/v1/snapshot`, server.pid, 50, quick ? 3 : 8)
    snapshots.set(workers, measured)
    snapshotLines.push(
      `${(workers === 1 ? '1 worker' : `${workers} workers`).padEnd(10)} ${'/v1/snapshot (500)'.padEnd(19)} ${'50'.padStart(6)} ${kilo(measured.requestsPerSec).padStart(9)} ${fmt(measured.p50Ms).padStart(8)} ${fmt(measured.p99Ms).padStart(8)} ${String(measured.non2xx + measured.errors).padStart(8)} ${fmt(measured.serverCpuPercent, 0).padStart(8)} ${fmt(measured.serverCpuUsPerRequest, 1).padStart(14)}`,
    )
    console.log(snapshotLines.at(-1))
  } finally {
    await server.stop()
  }
}
const one = snapshots.get(1)!
const two = snapshots.get(2)!
ratios.push(
  `snapshot (500 symbols)  2 workers / 1: req/s ${ratio(two.requestsPerSec, one.requestsPerSec)}, p50 ${ratio(two.p50Ms, one.p50Ms)}, p99 ${ratio(two.p99Ms, one.p99Ms)}, server CPU ${ratio(two.serverCpuPercent, one.serverCpuPercent)} (${fmt(one.serverCpuPercent, 0)} → ${fmt(two.serverCpuPercent, 0)} %), per request ${ratio(two.serverCpuUsPerRequest, one.serverCpuUsPerRequest)}`,
)
console.log(ratios.at(-1))

saveResult(RESULT, header, [...lines, '', ...snapshotLines, '', ...ratios], {
  broadcast: rows,
  snapshot: Object.fromEntries(snapshots),
})
console.log(`\nwritten: ${RESULT}.txt, ${RESULT}.json`)
