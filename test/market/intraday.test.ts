import { describe, expect, test } from 'vitest'
import {
  activityAt,
  activityMultiplier,
  MAX_ACTIVITY_MULTIPLIER,
  MEAN_ACTIVITY_MULTIPLIER,
  maxActivityBetween,
  SESSION_LENGTH_US,
  sessionIndexAt,
  sessionOpenUs,
  sinceOpenUs,
  spreadFactor,
} from '../../src/market/intraday.js'
import { SESSION_CLOSE_US, SESSION_OPEN_US } from '../../src/market/types.js'

/** Mean of m over [fromMin, toMin) by the midpoint rule on 1-second steps. */
function meanActivity(fromMin: number, toMin: number): number {
  const steps = Math.round((toMin - fromMin) * 60)
  let sum = 0
  for (let i = 0; i < steps; i++) sum += activityMultiplier(fromMin + (i + 0.5) / 60)
  return sum / steps
}

describe('intraday U-shape', () => {
  test('is about 4× midday at both bells and 1× at midday', () => {
    expect(activityMultiplier(0)).toBeCloseTo(4, 6)
    expect(activityMultiplier(389.999)).toBeCloseTo(4, 3)
    expect(activityMultiplier(195)).toBeCloseTo(1, 3)
  })

  test('first and last 15 minutes run 2.5–5× the midday rate', () => {
    const midday = meanActivity(187.5, 202.5)
    const open = meanActivity(0, 15) / midday
    const close = meanActivity(375, 390) / midday
    expect(open).toBeGreaterThan(2.5)
    expect(open).toBeLessThan(5)
    expect(close).toBeGreaterThan(2.5)
    expect(close).toBeLessThan(5)
  })

  test('the last 30 minutes carry about 15.5% of the session', () => {
    expect((meanActivity(360, 390) * 30) / (meanActivity(0, 390) * 390)).toBeCloseTo(0.155, 2)
  })

  test('MEAN_ACTIVITY_MULTIPLIER is the session mean of m (495/390)', () => {
    expect(MEAN_ACTIVITY_MULTIPLIER).toBeCloseTo(meanActivity(0, 390), 6)
    expect(MEAN_ACTIVITY_MULTIPLIER).toBeCloseTo(495 / 390, 6)
  })

  test('the spread factor is 3 at the open and fades with τ = 10 min', () => {
    expect(spreadFactor(0)).toBe(3)
    expect(spreadFactor(10)).toBeCloseTo(1 + 2 / Math.E, 12)
    expect(spreadFactor(120)).toBeCloseTo(1, 4)
  })
})

describe('repeating sessions', () => {
  test('a session lasts 6.5 h and the next opens at the close', () => {
    expect(SESSION_LENGTH_US).toBe(23_400_000_000)
    expect(sessionOpenUs(1)).toBe(SESSION_CLOSE_US)
    expect(sessionIndexAt(SESSION_OPEN_US)).toBe(0)
    expect(sessionIndexAt(SESSION_CLOSE_US - 1)).toBe(0)
    expect(sessionIndexAt(SESSION_CLOSE_US)).toBe(1)
    expect(sessionIndexAt(SESSION_OPEN_US - 1)).toBe(-1)
  })

  test('intraday position is (t − open) mod 390 min, before the first open too', () => {
    expect(sinceOpenUs(SESSION_OPEN_US)).toBe(0)
    expect(sinceOpenUs(SESSION_CLOSE_US + 60_000_000)).toBe(60_000_000)
    expect(sinceOpenUs(SESSION_OPEN_US - 30_000_000)).toBe(SESSION_LENGTH_US - 30_000_000)
    expect(activityAt(SESSION_CLOSE_US + 5 * 60_000_000)).toBeCloseTo(activityMultiplier(5), 12)
  })

  test('maxActivityBetween bounds m over any interval', () => {
    const day = 24 * 3_600_000_000
    for (let k = 0; k < 2000; k++) {
      const from = (k * 7_919_000_003) % day
      const to = from + ((k * 104_729) % 3_000_000)
      const bound = maxActivityBetween(from, to)
      for (let j = 0; j <= 10; j++) {
        expect(activityAt(from + ((to - from) * j) / 10)).toBeLessThanOrEqual(bound * (1 + 1e-12))
      }
    }
    expect(maxActivityBetween(SESSION_CLOSE_US - 1000, SESSION_CLOSE_US + 1000)).toBe(
      MAX_ACTIVITY_MULTIPLIER,
    )
  })
})
