import type { Histogram } from 'hdr-histogram-js'
import { createTransportMetrics, mergeWorkerReports } from '../../src/harness/transport-metrics.js'
import { emptyHistogram, type TransportName } from '../../src/report/measurements.js'
import type { RunResult, TransportResult } from '../../src/report/result-schema.js'
import {
  buildTransportResult,
  percentilesOf,
  type TransportResultContext,
} from '../../src/report/transport-result.js'
import { context, runResult, START_MS } from './fixtures.js'

/** The fault every storm fixture injects, seconds into each transport's measurement. */
export const DROP_AT_SEC = 2
export const ABORT_AT_SEC = 5

function histogramOf(values: readonly number[]): Histogram {
  const histogram = emptyHistogram()
  for (const value of values) histogram.recordValue(value)
  return histogram
}

/**
 * One transport's six seconds with a drop at DROP_AT_SEC: 20 subscribers, 1,000 latencies a
 * second (1..1,000 µs, twenty times slower in the drop's second), 3 ECONNRESET errors and 20
 * reconnects in that second, recovery recorded for each reconnect.
 */
export function measureStorm(transport: TransportName) {
  const metrics = createTransportMetrics(transport, { nowMs: START_MS, workerId: 0 })
  for (let c = 0; c < 20; c++) {
    metrics.connectionOpened()
    metrics.recordConnectUs(1500 + c)
  }
  for (let s = 0; s < 6; s++) {
    const slow = s === DROP_AT_SEC ? 20 : 1
    for (let us = 1; us <= 1000; us++) {
      metrics.recordLatencyUs(us * slow)
      metrics.addBytes(120)
    }
    if (s === DROP_AT_SEC) {
      for (let e = 0; e < 3; e++) metrics.countError('ECONNRESET')
      for (let r = 0; r < 20; r++) {
        metrics.countReconnect()
        metrics.recordRecoveryUs(200_000 + r * 10_000)
      }
    }
    metrics.rollInterval(START_MS + (s + 1) * 1000)
  }
  const merged = mergeWorkerReports([metrics.toWorkerReport()])
  metrics.destroy()
  return merged
}

/** The server sampler's view: CPU climbing to the drop, memory growing by 1 MiB a second. */
function serverContext(cpuScale: number): TransportResultContext['server'] {
  const samples = Array.from({ length: 6 }, (_, s) => ({
    atMs: START_MS + (s + 1) * 1000,
    cpuPercent: (s === DROP_AT_SEC ? 90 : 30 + s) * cpuScale,
    rssBytes: (60 + s) * 1024 * 1024,
  }))
  return {
    cpuPercentAvg: 35 * cpuScale,
    cpuPercentMax: 90 * cpuScale,
    rssBytesMax: 65 * 1024 * 1024,
    rssBytesBaseline: 58 * 1024 * 1024,
    samples,
  }
}

/** A transport's result, built from measurements, with the figures of schema 6 filled in. */
export function stormTransport(transport: TransportName, index: number): TransportResult {
  // Thresholds are judged elsewhere; their outcomes are set below, as the runner would.
  const { thresholds: _judgedElsewhere, ...measured } = context({
    measuredSec: 6,
    server: serverContext(1 + index),
  })
  const result = buildTransportResult(measureStorm(transport), measured)
  result.faults = [{ atSec: DROP_AT_SEC, kind: 'drop', fraction: 0.25 }]
  result.recoverySplit = {
    reconnectedUs: percentilesOf(histogramOf([40_000, 50_000, 90_000, 400_000])),
    caughtUpUs: percentilesOf(histogramOf([120_000, 130_000, 250_000, 900_000])),
    firstNewUs: percentilesOf(histogramOf([300_000, 800_000, 1_300_000, 5_700_000])),
  }
  result.spread = {
    spreadUs: percentilesOf(histogramOf([1000, 2000, 3000, 41_000])),
    incomplete: 7,
  }
  result.stalenessUs = percentilesOf(histogramOf([5000, 15_000, 95_000]))
  result.thresholds = [
    {
      name: 'latency',
      expression: 'p(99) < 100ms',
      limit: 100,
      actual: 19.9,
      unit: 'ms',
      overSec: 2,
      worstWindowAtSec: 2,
      abortOnFail: true,
      passed: true,
    },
    {
      name: 'errors',
      expression: 'rate < 0.01',
      limit: 0.01,
      actual: 0.13,
      unit: 'ratio',
      passed: false,
    },
  ]
  return result
}

/** A schema 6 run of SSE and WebSocket with a drop at 2 s, aborted by a threshold at 5 s. */
export function stormRun(overrides: Partial<RunResult> = {}): RunResult {
  return runResult([stormTransport('sse', 0), stormTransport('ws', 1)], {
    schemaVersion: 6,
    abortedBy: { transport: 'ws', threshold: 'errors rate < 0.01', atSec: ABORT_AT_SEC },
    passed: false,
    ...overrides,
  })
}
