import { describe, expect, test } from 'vitest'
import {
  bootstrapMeanChange,
  intervalSide,
  quantileOfSorted,
  seededUniform,
} from '../../src/report/bootstrap.js'

/** Five runs around 100 (spread ±2), as a quiet machine gives them. */
const QUIET = [100, 102, 98, 101, 99]

describe('bootstrapMeanChange', () => {
  test('a clear shift: the whole interval is above zero, around the true +20%', () => {
    const shifted = QUIET.map((value) => value * 1.2)
    const interval = bootstrapMeanChange(QUIET, shifted)
    expect(interval.baselineMean).toBe(100)
    expect(interval.candidateMean).toBeCloseTo(120, 9)
    expect(interval.delta).toBeCloseTo(20, 9)
    expect(interval.relative).toBeCloseTo(0.2, 9)
    // Each mean can move at most ±2.4 (its runs' extremes): the change stays within 20 ± 4.4.
    expect(interval.deltaLow).toBeGreaterThan(15.6)
    expect(interval.deltaHigh).toBeLessThan(24.4)
    expect(interval.deltaLow).toBeLessThan(20)
    expect(interval.deltaHigh).toBeGreaterThan(20)
    expect(interval.relativeLow!).toBeGreaterThan(0.15)
    expect(interval.relativeHigh!).toBeLessThan(0.25)
    expect(intervalSide(interval)).toBe(1)
    // The other way round it is all below zero.
    expect(intervalSide(bootstrapMeanChange(shifted, QUIET))).toBe(-1)
    expect({ confidence: interval.confidence, resamples: interval.resamples }).toEqual({
      confidence: 0.95,
      resamples: 10_000,
    })
  })

  test('identical noisy sets: the interval holds zero, about evenly on both sides', () => {
    const noisy = [100, 140, 80, 125, 90, 110]
    const interval = bootstrapMeanChange(noisy, noisy)
    expect(interval.delta).toBe(0)
    expect(interval.relative).toBe(0)
    expect(interval.deltaLow).toBeLessThan(0)
    expect(interval.deltaHigh).toBeGreaterThan(0)
    expect(intervalSide(interval)).toBe(0)
    // Symmetric by construction (both sides resampled from the same runs), up to sampling.
    expect(Math.abs(interval.deltaLow + interval.deltaHigh)).toBeLessThan(
      0.1 * (interval.deltaHigh - interval.deltaLow),
    )
  })

  test('a shift of the means smaller than the runs’ noise is not called', () => {
    // The candidate's mean is 6% higher, beyond a fixed ±5% band, but its runs swing ±30%.
    const baseline = [70, 100, 130, 85, 115]
    const candidate = baseline.map((value) => value + 6)
    const interval = bootstrapMeanChange(baseline, candidate)
    expect(interval.relative).toBeCloseTo(0.06, 9)
    expect(intervalSide(interval)).toBe(0)
  })

  test('seeded: the same runs and seed give the same interval, another seed another', () => {
    const a = [5, 9, 4, 7, 6, 8]
    const b = [6, 10, 7, 9, 8, 11]
    const first = bootstrapMeanChange(a, b, { seed: 42 })
    expect(bootstrapMeanChange(a, b, { seed: 42 })).toEqual(first)
    const other = bootstrapMeanChange(a, b, { seed: 43 })
    expect(other.seed).toBe(43)
    expect([other.deltaLow, other.deltaHigh]).not.toEqual([first.deltaLow, first.deltaHigh])
    // The default seed is fixed too: two calls without options agree.
    expect(bootstrapMeanChange(a, b)).toEqual(bootstrapMeanChange(a, b))
  })

  test('runs without spread: the interval is the one change', () => {
    const interval = bootstrapMeanChange([10, 10, 10], [12, 12, 12])
    expect([interval.deltaLow, interval.deltaHigh]).toEqual([2, 2])
    expect([interval.relativeLow, interval.relativeHigh]).toEqual([0.2, 0.2])
  })

  test('from a baseline of 0 (no loss) the relative interval is undefined; the change decides', () => {
    const interval = bootstrapMeanChange([0, 0, 0], [0.001, 0.002, 0.0015])
    expect(interval.relative).toBeNull()
    expect(interval.relativeLow).toBeNull()
    expect(interval.relativeHigh).toBeNull()
    expect(interval.deltaLow).toBeGreaterThanOrEqual(0.001)
    expect(intervalSide(interval)).toBe(1)
    expect(intervalSide(bootstrapMeanChange([0, 0, 0], [0, 0, 0]))).toBe(0)
  })

  test('a wider confidence gives a wider interval', () => {
    const a = [100, 120, 90, 110, 95]
    const b = [105, 125, 98, 118, 100]
    const narrow = bootstrapMeanChange(a, b, { confidence: 0.8 })
    const wide = bootstrapMeanChange(a, b, { confidence: 0.99 })
    expect(wide.deltaLow).toBeLessThan(narrow.deltaLow)
    expect(wide.deltaHigh).toBeGreaterThan(narrow.deltaHigh)
  })

  test('refuses an empty set, too few resamples and a confidence outside (0, 1)', () => {
    expect(() => bootstrapMeanChange([], [1])).toThrow(RangeError)
    expect(() => bootstrapMeanChange([1], [1], { resamples: 10 })).toThrow(
      'resamples must be an integer ≥ 100, got 10',
    )
    expect(() => bootstrapMeanChange([1], [1], { confidence: 1 })).toThrow(
      'confidence must be in (0, 1), got 1',
    )
  })
})

describe('the pieces', () => {
  test('seededUniform: the same seed, the same draws, all in [0, 1)', () => {
    const a = seededUniform(7)
    const b = seededUniform(7)
    const draws = Array.from({ length: 1000 }, () => a())
    expect(Array.from({ length: 1000 }, () => b())).toEqual(draws)
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true)
    // Roughly uniform: each tenth of [0, 1) gets 100 ± 40 of 1000 draws.
    for (let tenth = 0; tenth < 10; tenth++) {
      const inside = draws.filter((x) => Math.floor(x * 10) === tenth).length
      expect(inside).toBeGreaterThan(60)
      expect(inside).toBeLessThan(140)
    }
  })

  test('quantileOfSorted interpolates between neighbours', () => {
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantileOfSorted([1, 2, 3, 4], 0)).toBe(1)
    expect(quantileOfSorted([1, 2, 3, 4], 1)).toBe(4)
    expect(quantileOfSorted([10, 20], 0.25)).toBe(12.5)
    expect(quantileOfSorted([], 0.5)).toBeNaN()
  })
})
