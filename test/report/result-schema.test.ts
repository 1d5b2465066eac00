import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import {
  buildTransportResult,
  INVALID_RESULT,
  judgeValidity,
  percentileDistribution,
  runPassed,
  validateRunResult,
} from '../../src/report/result-schema.js'
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
      { name: 'p99Ms', limit: 50, actual: result.latencyUs.p99 / 1000, passed: true },
      { name: 'maxLossRatio', limit: 0, actual: 0, passed: true },
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
      name: 'maxLossRatio',
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

describe('validateRunResult', () => {
  const valid = runResult([buildTransportResult(measure('sse'), context())])

  test('refuses a newer schema version with a coded error', () => {
    const error = catchError(() =>
      validateRunResult({ ...valid, schemaVersion: 3 }, 'x/result.json'),
    )
    expect(error.code).toBe(INVALID_RESULT)
    expect(error.code).toBe('TS_ERR_INVALID_RESULT')
    expect(error.message).toBe(
      'x/result.json has schemaVersion 3, newer than this tickstorm reads (1 and 2)',
    )
  })

  test('reads version 1 (no interruption fields) and version 2 (an interrupted run)', () => {
    expect(validateRunResult({ ...valid, schemaVersion: 1 }).schemaVersion).toBe(1)
    const interrupted = {
      ...valid,
      schemaVersion: 2,
      interrupted: true,
      interruption: { signal: 'SIGINT', transport: 'sse', phase: 'measuring', notMeasured: [] },
      passed: false,
    }
    expect(validateRunResult(interrupted).interruption?.phase).toBe('measuring')
  })

  test('an interrupted run never passes, says where it stopped, and needs version 2', () => {
    const interruption = {
      signal: 'SIGTERM',
      transport: null,
      phase: 'starting',
      notMeasured: ['sse'],
    }
    const problems = (value: object) =>
      String(catchError(() => validateRunResult(value)).details?.['problems'])
    expect(
      problems({ ...valid, schemaVersion: 2, interrupted: true, interruption, passed: true }),
    ).toContain('`passed` must be false for an interrupted run')
    expect(problems({ ...valid, schemaVersion: 2, interrupted: true, passed: false })).toContain(
      '`interruption` must be given exactly when interrupted is true',
    )
    expect(
      problems({ ...valid, schemaVersion: 1, interrupted: true, interruption, passed: false }),
    ).toContain('`schemaVersion` must be 2 for a result that says whether it was interrupted')
  })

  test('refuses a foreign file', () => {
    const error = catchError(() => validateRunResult({ requests: { average: 1 } }, 'k6.json'))
    expect(error.code).toBe('TS_ERR_INVALID_RESULT')
    expect(error.message).toBe('k6.json has no schemaVersion: not a tickstorm result')
  })

  test('lists every bad field with its path', () => {
    const broken = structuredClone(valid) as unknown as Record<string, unknown>
    const transports = broken['transports'] as Record<string, unknown>[]
    transports[0]!['lossRatio'] = 2
    transports[0]!['extra'] = true
    broken['commit'] = 42
    const error = catchError(() => validateRunResult(broken))
    expect(error.details?.['problems']).toEqual([
      '`commit` must be a string, got 42',
      '`transports[0].lossRatio` must be ≤ 1, got 2',
      '`transports[0].extra` is not a known key, got true',
    ])
  })
})

function catchError(run: () => unknown): TickstormError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TickstormError)
    return error as TickstormError
  }
  throw new Error('expected an error')
}

describe('judgeValidity', () => {
  const base = {
    harnessCpuPercentSamples: [] as number[],
    harnessCores: 2,
    eventLoopDelay: { p50Us: 100, p99Us: 2000, maxUs: 9000, meanUs: 300 },
    deliveries: 100_000,
    negativeLatencies: 0,
    clampedLatencies: 0,
  }

  test('five seconds in a row at ≥ 90% of the harness cores make the run invalid', () => {
    expect(
      judgeValidity({ ...base, harnessCpuPercentSamples: [100, 185, 190, 180, 199, 181, 50] }),
    ).toEqual({
      valid: false,
      invalidReasons: [
        'harness CPU was ≥ 90% of its 2 core(s) for 5 s in a row: the harness, not the server, was saturated',
      ],
    })
  })

  test('a short spike, or one just under the bound, is allowed', () => {
    expect(
      judgeValidity({ ...base, harnessCpuPercentSamples: [190, 190, 190, 190, 100, 190, 190] })
        .valid,
    ).toBe(true)
    expect(
      judgeValidity({ ...base, harnessCpuPercentSamples: [179, 179, 179, 179, 179, 179] }).valid,
    ).toBe(true)
  })

  test('bounds are options', () => {
    const oneCore = { ...base, harnessCores: 1, harnessCpuPercentSamples: [95, 95, 95] }
    expect(judgeValidity(oneCore, { cpuSustainedSamples: 3 }).valid).toBe(false)
    expect(judgeValidity(oneCore, { cpuSustainedSamples: 4 }).valid).toBe(true)
    expect(judgeValidity(oneCore, { cpuSustainedSamples: 3, cpuSaturatedRatio: 0.96 }).valid).toBe(
      true,
    )
  })

  test('event-loop delay, clock skew and clamping each invalidate with a reason', () => {
    const verdict = judgeValidity({
      ...base,
      eventLoopDelay: { p50Us: 100, p99Us: 60_000, maxUs: 90_000, meanUs: 300 },
      negativeLatencies: 101,
      clampedLatencies: 3,
    })
    expect(verdict.invalidReasons).toEqual([
      "harness event-loop delay p99 was 60.0 ms (bound 50.0 ms): receipt times were late by the harness's own lag",
      '101 of 100000 events arrived before their scheduled time: the clocks disagree',
      "3 latencies exceeded the histogram's range and were clamped",
    ])
    expect(judgeValidity({ ...base, negativeLatencies: 100 }).valid).toBe(true) // 0.1% allowed
    expect(judgeValidity({ ...base, eventLoopDelay: null }).valid).toBe(true)
  })
})
