import { describe, expect, test } from 'vitest'
import { validateRunResult } from '../../src/report/result-schema.js'
import {
  buildTransportResult,
  percentileDistribution,
  runPassed,
} from '../../src/report/transport-result.js'
import { context, measure, runResult } from './fixtures.js'

function within(actual: number, expected: number, ratio: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * ratio)
}

describe('buildTransportResult', () => {
  const merged = measure('sse') // 3 s × (1..10,000 µs uniform), two workers
  const result = buildTransportResult(merged, context())

  test('percentiles come from the merged histogram', () => {
    within(result.latencyUs.p50, 5000, 0.001)
    within(result.latencyUs.p90, 9000, 0.001)
    within(result.latencyUs.p99, 9900, 0.001)
    within(result.latencyUs.p999, 9990, 0.001)
    expect(result.latencyUs.p50).toBe(5003)
    expect(result.latencyUs.max).toBe(10_007) // the top of 10,000's bucket
    expect(result.latencyUs.count).toBe(30_000)
    within(result.latencyUs.mean, 5000.5, 0.001)
    expect(result.connectTimeUs.count).toBe(100)
    expect(result.connectTimeUs.p50).toBe(2024)
    expect(result.recoveryUs).toEqual({
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      max: 0,
      mean: 0,
      count: 0,
    })
  })

  test('rates, accounting and costs', () => {
    expect(result).toMatchObject({
      transport: 'sse',
      subscribers: { asked: 100, connectedMax: 100, connectedAtEnd: 100 },
      measuredSec: 3,
      deliveries: 30_000,
      deliveriesPerSec: 10_000,
      bytesPerSec: 1_500_000,
      bytesPerEvent: 150,
      lost: 0,
      lossRatio: 0,
      connects: 100,
      errors: 1,
      errorsByKind: { ECONNRESET: 1 },
      errorRate: 1 / 101,
      server: {
        cpuPercentAvg: 40,
        cpuPercentMax: 55,
        rssBytesMax: 80 * 1024 * 1024,
        rssBytesPerConnection: (20 * 1024 * 1024) / 100,
      },
      harness: {
        cpuPercentAvg: 60,
        cpuPercentMax: 70,
        cores: 2,
        eventLoopDelayP99Us: 0,
        cpuUsPerEvent: 60,
      },
      validity: { valid: true, invalidReasons: [] },
    })
    expect(result.thresholds).toEqual([
      {
        name: 'latency',
        expression: 'p(99) <= 50ms',
        unit: 'ms',
        limit: 50,
        actual: result.latencyUs.p99 / 1000,
        passed: true,
      },
      { name: 'loss', expression: 'rate <= 0', unit: 'ratio', limit: 0, actual: 0, passed: true },
    ])
  })

  test('one time-series point per merged interval, t from the measurement start', () => {
    expect(
      result.timeSeries.map((p) => [p.tSec, p.deliveriesPerSec, p.connections, p.errors]),
    ).toEqual([
      [0, 10_000, 100, 0],
      [1, 10_000, 100, 0],
      [2, 10_000, 100, 0],
    ])
    expect(result.timeSeries.every((p) => p.p50Us === 5003)).toBe(true)
  })

  test('loss counts gaps not filled later, over the events expected', () => {
    const withGaps = {
      ...merged,
      counters: { ...merged.counters, gaps: 120, outOfOrder: 20, duplicates: 100 },
    }
    const lossy = buildTransportResult(withGaps, context())
    expect(lossy.lost).toBe(100)
    expect(lossy.lossRatio).toBe(100 / (30_000 - 100 + 100))
    expect(lossy.thresholds[1]).toEqual({
      name: 'loss',
      expression: 'rate <= 0',
      unit: 'ratio',
      limit: 0,
      actual: 100 / 30_000,
      passed: false,
    })
    expect(runPassed([lossy])).toBe(false)
    expect(runPassed([result])).toBe(true)
  })

  test('the result validates against the schema', () => {
    expect(validateRunResult(runResult([result])).transports[0]).toEqual(result)
  })
})

describe('percentileDistribution', () => {
  test('a nines grid up to what the count supports, then the max', () => {
    const merged = measure('ws', { seconds: 3 })
    const points = percentileDistribution(merged.latency)
    // 30,000 samples support log10(30,000) = 4.48 nines: 45 grid points (0 .. 4.4), plus the max.
    expect(points).toHaveLength(46)
    expect(points[0]).toEqual({ percentile: 0, valueUs: 1 })
    expect(points[10]).toEqual({ percentile: 90, valueUs: merged.latency.getValueAtPercentile(90) })
    expect(points[20]!.percentile).toBe(99)
    expect(points.at(-1)).toEqual({ percentile: 100, valueUs: 10_007 })
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.valueUs).toBeGreaterThanOrEqual(points[i - 1]!.valueUs)
    }
  })
})
