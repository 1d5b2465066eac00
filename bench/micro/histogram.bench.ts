/**
 * Cost of recording one latency, the harness's hot path (~1M calls/s across the workers).
 *
 * Method: 64 Ki latencies drawn once (200 µs .. ~200 ms, long-tailed like real ones) are recorded
 * over and over, 4M per round; one warm-up round, then five timed rounds, median printed in ns
 * per call. Candidates: hdr-histogram-js's WASM and JS histograms with the harness's settings
 * (1 µs .. 60 s, 3 significant digits, no auto-resize), and `TransportMetrics.recordLatencyUs`
 * (WASM histogram + delivery counter + clamping). The baseline, measured in the same run, pushes
 * the same numbers into an array (emptied every 4,096): the floor any recorder pays.
 *
 *   npm run build && node dist/bench/micro/histogram.bench.js
 */

import { build, initWebAssemblySync } from 'hdr-histogram-js'
import { createTransportMetrics } from '../../src/harness/transport-metrics.js'
import { median } from './median.js'

const CALLS = 4_000_000
const ROUNDS = 5
const MASK = 0xffff

function latencies(): Float64Array {
  const values = new Float64Array(MASK + 1)
  let state = 42
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    values[i] = 200 + Math.floor((state / 2 ** 32) ** 6 * 200_000)
  }
  return values
}

function nsPerCall(record: (value: number) => void, values: Float64Array): number {
  const started = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) record(values[i & MASK]!)
  return Number(process.hrtime.bigint() - started) / CALLS
}

function measure(record: (value: number) => void, values: Float64Array): number {
  nsPerCall(record, values) // warm-up: JIT, and the histogram's buckets touched once
  const rounds: number[] = []
  for (let round = 0; round < ROUNDS; round++) rounds.push(nsPerCall(record, values))
  return median(rounds)
}

function main(): void {
  initWebAssemblySync()
  const values = latencies()
  const settings = {
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3 as const,
    autoResize: false,
  }
  const wasm = build({ ...settings, useWebAssembly: true })
  const js = build({ ...settings, useWebAssembly: false })
  const metrics = createTransportMetrics('sse', { nowMs: Date.now() })
  const array: number[] = []

  // Each closure is its own call site, so one candidate's shape never deoptimizes another's.
  const results: [string, number][] = [
    [
      'baseline: array push',
      measure((value) => {
        array.push(value)
        if (array.length === 4096) array.length = 0
      }, values),
    ],
    ['hdr-histogram-js WASM recordValue', measure((value) => wasm.recordValue(value), values)],
    ['hdr-histogram-js JS recordValue', measure((value) => js.recordValue(value), values)],
    [
      'TransportMetrics.recordLatencyUs (WASM)',
      measure((value) => metrics.recordLatencyUs(value), values),
    ],
  ]
  // Same data recorded by both: a check that the comparison is fair, not a test.
  const same = wasm.getValueAtPercentile(99) === js.getValueAtPercentile(99)

  const baseline = results[0]![1]
  console.log(
    `node ${process.version}, ${CALLS.toLocaleString('en-US')} calls × ${ROUNDS} rounds, median`,
  )
  for (const [name, ns] of results) {
    console.log(
      `${name.padEnd(42)} ${ns.toFixed(1).padStart(7)} ns/call  ${(ns / baseline).toFixed(1).padStart(5)}× baseline`,
    )
  }
  console.log(`WASM and JS agree on p99: ${same ? 'yes' : 'NO'}`)
  wasm.destroy()
  metrics.destroy()
}

main()
