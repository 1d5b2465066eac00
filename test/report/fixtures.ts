import { createTransportMetrics, mergeWorkerReports } from '../../src/harness/transport-metrics.js'
import { judgeValidity } from '../../src/harness/validity.js'
import {
  latencyIntervalsOf,
  type MergedMetrics,
  type TransportName,
} from '../../src/report/measurements.js'
import type { RunResult, TransportResult } from '../../src/report/result-schema.js'
import {
  buildTransportResult,
  type TransportResultContext,
} from '../../src/report/transport-result.js'

export const START_MS = Date.parse('2025-11-24T06:00:00.000Z')

/**
 * One transport measured over `seconds` 1-s intervals by `workers` workers: each interval every
 * latency from 1..perInterval µs (uniform), times `scale`, so percentiles are known exactly.
 */
export function measure(
  transport: TransportName,
  options: { seconds?: number; perInterval?: number; scale?: number; workers?: number } = {},
): MergedMetrics {
  const { seconds = 3, perInterval = 10_000, scale = 1, workers = 2 } = options
  const metrics = Array.from({ length: workers }, (_, workerId) =>
    createTransportMetrics(transport, { nowMs: START_MS, workerId }),
  )
  for (const m of metrics) {
    for (let c = 0; c < 50; c++) {
      m.connectionOpened()
      m.recordConnectUs(2000 + c)
    }
  }
  for (let s = 0; s < seconds; s++) {
    for (let us = 1; us <= perInterval; us++) {
      const m = metrics[us % workers]!
      m.recordLatencyUs(us * scale)
      m.addBytes(150)
    }
    for (const m of metrics) m.rollInterval(START_MS + (s + 1) * 1000)
  }
  metrics[0]!.countError('ECONNRESET')
  const merged = mergeWorkerReports(metrics.map((m) => m.toWorkerReport()))
  for (const m of metrics) m.destroy()
  return merged
}

/** A transport's context whose harness ran at `cpuPercent` of its 2 cores for 5 s: invalid. */
export function saturated(cpuPercent: number): TransportResultContext {
  const harness = { cpuPercentSamples: new Array(5).fill(cpuPercent), cpuUs: 1, cores: 2 }
  return context({
    harness,
    validity: judgeValidity({
      harnessCpuPercentSamples: harness.cpuPercentSamples,
      harnessCores: harness.cores,
      eventLoopDelay: null,
      deliveries: 30_000,
      negativeLatencies: 0,
      clampedLatencies: 0,
    }),
  })
}

export function context(overrides: Partial<TransportResultContext> = {}): TransportResultContext {
  return {
    subscribersAsked: 100,
    measureStartMs: START_MS,
    measuredSec: 3,
    server: {
      cpuPercentAvg: 40,
      cpuPercentMax: 55,
      rssBytesMax: 80 * 1024 * 1024,
      rssBytesBaseline: 60 * 1024 * 1024,
    },
    harness: { cpuPercentSamples: [50, 60, 70], cpuUs: 1_800_000, cores: 2 },
    validity: { valid: true, invalidReasons: [] },
    thresholds: { p99Ms: 50, maxLossRatio: 0 },
    ...overrides,
  }
}

export function runResult(
  transports: readonly TransportResult[],
  overrides: Partial<RunResult> = {},
): RunResult {
  return {
    schemaVersion: 1,
    runId: '20251124T060000Z-compare-transports',
    scenario: {
      name: 'compare-transports',
      file: 'scenarios/compare-transports.yaml',
      parsed: { name: 'compare-transports', description: 'one workload, three transports' },
    },
    machine: {
      cpuModel: 'AMD EPYC',
      cores: 2,
      memoryBytes: 24 * 1024 ** 3,
      os: 'linux',
      kernel: '6.1.0',
    },
    nodeVersion: 'v20.20.0',
    commit: 'fe3c4ba',
    startedAt: '2025-11-24T06:00:00.000Z',
    endedAt: '2025-11-24T06:01:45.000Z',
    target: 'embedded',
    transports: [...transports],
    passed: true,
    ...overrides,
  }
}

/** A whole run: transports with their merged metrics, result and hlog intervals. */
export function fullRun(scales: Partial<Record<TransportName, number>> = { sse: 1, ws: 1 }) {
  const merged = Object.entries(scales).map(([transport, scale]) =>
    measure(transport as TransportName, { scale: scale ?? 1 }),
  )
  const transports = merged.map((m) => buildTransportResult(m, context()))
  const hlogs = Object.fromEntries(merged.map((m) => [m.transport, latencyIntervalsOf(m)]))
  return { merged, result: runResult(transports), hlogs }
}

/** An open model's arrivals with watch-list changes, as a run of the arrival-rate executor records them. */
export const ARRIVALS: NonNullable<TransportResult['arrivals']> = {
  ratePerSec: 20,
  sessionSecMean: 3,
  sessionDistribution: 'exponential',
  maxSubscribers: 200,
  seed: 7,
  watchListChanges: { everySec: 10, swap: 2 },
  arrivals: 60,
  dropped: 0,
  departures: 55,
  activeMean: 59.5,
  activeMax: 70,
  activeAtStart: 58,
  activeAtEnd: 63,
}
