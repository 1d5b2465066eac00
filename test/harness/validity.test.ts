import { describe, expect, test } from 'vitest'
import { judgeValidity } from '../../src/harness/validity.js'

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
