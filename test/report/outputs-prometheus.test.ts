import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { emptyCounters, emptyHistogram } from '../../src/report/measurements.js'
import { createLiveOutputs } from '../../src/report/outputs/live-outputs.js'
import type { LiveProgressView } from '../../src/report/outputs/metrics-snapshot.js'
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.js'

// The remote-write output against Debian's real Prometheus: what it accepts, and what PromQL
// reads back from the native histograms.

let prometheus: RunningPrometheus
beforeAll(async () => {
  prometheus = await startPrometheus()
}, 30_000)
afterAll(async () => {
  await prometheus?.stop()
})

/** A live report after `n` deliveries: latencies spread from 0.2 ms to ~60 ms, deterministic. */
function progressAfter(n: number, startMs: number): LiveProgressView {
  const latency = emptyHistogram()
  for (let i = 0; i < n; i++)
    latency.recordValue(200 + ((i * 7919) % 4000) + (i % 100 === 0 ? 60_000 : 0))
  const connect = emptyHistogram()
  connect.recordValue(1800)
  return {
    transport: 'ws',
    connected: 25,
    live: {
      measuring: true,
      startMs,
      latencyUs: latency,
      connectTimeUs: connect,
      recoveryUs: emptyHistogram(),
      counters: { ...emptyCounters(), deliveries: n, errors: 2, reconnects: 3, connects: 28 },
    },
    harness: { eventLoopDelayP99Us: 4000 },
  }
}

describe('prometheus-rw output → Prometheus 2.42', () => {
  test('counters, gauges and native histograms are accepted and read back by PromQL', async () => {
    const failures: string[] = []
    const run = { scenario: 'unit', run: `r${process.pid}` }
    const outputs = createLiveOutputs([{ kind: 'prometheus-rw', url: prometheus.writeUrl }], run, {
      version: '0',
      onFailure: (_target, message) => failures.push(message),
    })
    const startMs = Date.now()
    const reports = [1000, 2000, 5000].map((n) => progressAfter(n, startMs))
    for (const report of reports) outputs.onProgress(report)
    const [outcome] = await outputs.finish(null, 10_000)
    expect(failures, prometheus.log().slice(-2000)).toEqual([])
    expect(outcome).toMatchObject({ failed: 0, abandoned: 0 })
    expect(outcome!.sent + outcome!.dropped).toBe(4)

    const selector = `{run="${run.run}",scenario="unit",transport="ws"}`
    const one = async (promql: string): Promise<number> => {
      const result = await prometheus.query(promql)
      expect(result.length, promql).toBe(1)
      return Number(result[0]!.value[1])
    }
    expect(await one(`tickstorm_deliveries_total${selector}`)).toBe(5000)
    expect(await one(`tickstorm_errors_total${selector}`)).toBe(2)
    expect(await one(`tickstorm_reconnects_total${selector}`)).toBe(3)
    expect(await one(`tickstorm_connected_subscribers${selector}`)).toBe(25)
    expect(await one(`tickstorm_harness_event_loop_delay_p99_seconds${selector}`)).toBeCloseTo(
      0.004,
      9,
    )
    expect(await one(`histogram_count(tickstorm_latency_seconds${selector})`)).toBe(5000)
    const hdr = reports[2]!.live!.latencyUs
    expect(await one(`histogram_sum(tickstorm_latency_seconds${selector})`)).toBeCloseTo(
      (hdr.mean * 5000) / 1e6,
      6,
    )
    // A quantile is interpolated inside its native bucket (≈ 9% wide): within one bucket of HDR's.
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const promSec = await one(`histogram_quantile(${q}, tickstorm_latency_seconds${selector})`)
      const hdrSec = hdr.getValueAtPercentile(q * 100) / 1e6
      expect(promSec, `q${q}`).toBeGreaterThan(hdrSec / 2 ** (1 / 8) - 1e-9)
      expect(promSec, `q${q}`).toBeLessThan(hdrSec * 2 ** (1 / 8) + 1e-9)
    }
    expect(await one(`histogram_count(tickstorm_connect_time_seconds${selector})`)).toBe(1)
  })

  test('a refused request (no such path) is counted and said, never thrown', async () => {
    const failures: string[] = []
    const outputs = createLiveOutputs(
      [{ kind: 'prometheus-rw', url: `${prometheus.url}/api/v1/nowhere` }],
      { scenario: 'unit', run: 'refused' },
      { version: '0', onFailure: (_target, message) => failures.push(message) },
    )
    outputs.onProgress(progressAfter(10, Date.now()))
    const [outcome] = await outputs.finish(null, 10_000)
    expect(outcome).toMatchObject({ sent: 0, abandoned: 0 })
    expect(outcome!.failed).toBe(2)
    expect(failures).toEqual([expect.stringMatching(/^HTTP 404/)])
  })
})
