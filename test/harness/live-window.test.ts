import { afterEach, describe, expect, test } from 'vitest'
import { createLoadPool, type LoadPool, type PoolLive } from '../../src/harness/load-pool.js'
import type { RunProgress } from '../../src/harness/run-context.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { createTickstormAdapter } from '../../src/harness/targets/tickstorm.js'
import { decodeHistogram } from '../../src/report/measurements.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The live window: each pool's `live()` is exactly what it measured since the previous call
 * (the spans add up to its totals), and a run reports the merged window once a second, reset
 * when the measurement window begins.
 */

const TICKSTORM_WIRE = createTickstormAdapter({ headers: {}, query: {}, auth: null }).wire
const pools: LoadPool[] = []
afterEach(() => {
  for (const pool of pools.splice(0)) pool.close()
})

function openPool(baseUrl: string): LoadPool {
  const pool = createLoadPool({
    transport: 'sse',
    workerId: 0,
    baseUrl,
    retryMs: 50,
    localAddresses: [],
    wire: TICKSTORM_WIRE,
    universe: [],
  })
  pools.push(pool)
  return pool
}

describe('a pool’s live spans', () => {
  test('spans add up to the totals, and a reset starts the latency and counters again', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const pool = openPool(server.url)
    pool.add(
      Array.from({ length: 10 }, (_, index) => ({ index, symbols: null })),
      1000,
    )
    const spans: PoolLive[] = []
    let asked = 0
    for (const target of [500, 1500, 3000]) {
      await waitFor(`${target} deliveries`, () => pool.progress().deliveries >= target, {
        state: () => pool.progress(),
      })
      spans.push(pool.live())
      asked = pool.progress().deliveries
    }
    const report = pool.report()
    const sum = (pick: (span: PoolLive) => number) =>
      spans.reduce((total, span) => total + pick(span), 0)
    // Nothing is counted twice or lost between spans.
    expect(sum((span) => span.counters.deliveries)).toBeLessThanOrEqual(report.counters.deliveries)
    expect(sum((span) => span.counters.deliveries)).toBe(asked)
    expect(sum((span) => decodeHistogram(span.latency).totalCount)).toBe(
      asked - sum((span) => span.counters.negativeLatencies),
    )
    expect(sum((span) => decodeHistogram(span.connectTime).totalCount)).toBe(10)
    expect(sum((span) => span.counters.connects)).toBe(10)
    for (const [i, span] of spans.entries()) {
      expect(span.counters.deliveries, `span ${i}`).toBeGreaterThan(0)
      expect(span.toMs).toBeGreaterThanOrEqual(span.fromMs)
      if (i > 0) expect(span.fromMs).toBe(spans[i - 1]!.toMs)
      expect(span.connections).toBe(10)
    }
    // The latency percentiles of a span are real latencies on loopback (under a second).
    const last = decodeHistogram(spans[2]!.latency)
    expect(last.getValueAtPercentile(50)).toBeGreaterThan(0)
    expect(last.getValueAtPercentile(50)).toBeLessThan(1_000_000)

    pool.reset()
    const afterReset = pool.live()
    expect(afterReset.counters.connects).toBe(0)
    expect(afterReset.counters.deliveries).toBeLessThan(500)
    await waitFor('deliveries after the reset', () => pool.progress().deliveries >= 200)
    const next = pool.live()
    expect(next.counters.deliveries + afterReset.counters.deliveries).toBe(
      pool.report().counters.deliveries,
    )
  })
})

describe('a run’s live window', () => {
  test('reports once a second, merged across pools, reset when the window begins', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const scenario = parseScenario(
      [
        'name: live-window',
        'description: the live window of a small run',
        `target: { url: "${server.url}" }`,
        'transports: [sse]',
        'subscribers: { count: 12, rampPerSec: 400, watchList: { size: 5 } }',
        'warmupSec: 2',
        'durationSec: 3',
      ].join('\n'),
      'live-window.yaml',
    )
    const reports: RunProgress[] = []
    const { result } = await runScenario(scenario, {
      serverBin: 'unused',
      scenarioFile: 'live-window.yaml',
      commit: 'test',
      // One pool on this thread (threads run from dist/: the CLI test covers them).
      workers: 0,
      retryMs: 50,
      onProgress: (progress) => reports.push(progress),
    })
    const lives = reports.filter((report) => report.live !== undefined)
    expect(lives.length).toBeGreaterThanOrEqual(4)
    for (const report of lives) {
      expect(report.harness).toBeDefined()
      expect(report.harness!.cpuPercent).toBeGreaterThan(0)
      expect(report.harness!.eventLoopDelayP99Us).toBeGreaterThanOrEqual(0)
      const live = report.live!
      // The window's histogram holds every delivery it counted (none had a negative latency).
      expect(live.latencyUs.totalCount).toBe(
        live.counters.deliveries - live.counters.negativeLatencies,
      )
      expect(live.lastLatencyUs.totalCount).toBe(
        live.lastCounters.deliveries - live.lastCounters.negativeLatencies,
      )
      expect(live.lastSec).toBeGreaterThan(0)
      expect(live.lastSec).toBeLessThan(3)
    }
    const warm = lives.filter((report) => !report.live!.measuring)
    const measuring = lives.filter((report) => report.live!.measuring)
    expect(warm.length).toBeGreaterThanOrEqual(1)
    expect(measuring.length).toBeGreaterThanOrEqual(2)
    // The window began once: every measuring report has the same start, after the warm-up's.
    const starts = new Set(measuring.map((report) => report.live!.startMs))
    expect(starts.size).toBe(1)
    expect(measuring[0]!.live!.startMs).toBeGreaterThan(warm[0]!.live!.startMs)
    // Within the window the counters only grow, and the connect times keep the ramp's.
    for (let i = 1; i < measuring.length; i++) {
      expect(measuring[i]!.live!.counters.deliveries).toBeGreaterThanOrEqual(
        measuring[i - 1]!.live!.counters.deliveries,
      )
    }
    const final = measuring.at(-1)!.live!
    expect(final.connectTimeUs.totalCount).toBeGreaterThanOrEqual(12)
    expect(final.latencyUs.getValueAtPercentile(99)).toBeGreaterThan(0)
    // The last report's window is (almost all of) what the result measured.
    const sse = result.transports[0]!
    expect(final.counters.deliveries).toBeGreaterThan(0)
    expect(final.counters.deliveries).toBeLessThanOrEqual(sse.deliveries)
    expect(final.counters.deliveries).toBeGreaterThan(sse.deliveries * 0.5)
  })
})
