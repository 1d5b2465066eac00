import { describe, expect, test } from 'vitest'
import { SESSION_LENGTH_US } from '../../src/market/intraday.js'
import {
  driftAt,
  type Envelope,
  envelopeAt,
  envelopeMaxBetween,
  productAt,
  stepAt,
  stepMinBetween,
} from '../../src/market/scenario.js'
import { SESSION_OPEN_US } from '../../src/market/types.js'

const decaying: Envelope = { symbol: -1, fromUs: 1000, toUs: 5000, peak: 10, decayUs: 1000 }
const dip: Envelope = { symbol: 3, fromUs: 1000, toUs: 2000, peak: 0.2, decayUs: Infinity }
const daily: Envelope = {
  symbol: -1,
  fromUs: 100,
  toUs: 200,
  peak: 3,
  decayUs: Infinity,
  daily: true,
}

describe('envelopes', () => {
  test('are 1 outside their window, peak at its start, and decay inside', () => {
    expect(envelopeAt(decaying, 999)).toBe(1)
    expect(envelopeAt(decaying, 1000)).toBe(10)
    expect(envelopeAt(decaying, 2000)).toBeCloseTo(1 + 9 / Math.E, 12)
    expect(envelopeAt(decaying, 5000)).toBe(1)
    expect(envelopeAt(dip, 1500)).toBe(0.2)
  })

  test('daily envelopes recur every session', () => {
    for (const session of [0, 1, 5]) {
      const open = SESSION_OPEN_US + session * SESSION_LENGTH_US
      expect(envelopeAt(daily, open + 150)).toBe(3)
      expect(envelopeAt(daily, open + 250)).toBe(1)
    }
  })

  test('productAt applies market-wide and the symbol’s own envelopes only', () => {
    expect(productAt([decaying, dip], 3, 1000)).toBeCloseTo(2, 12)
    expect(productAt([decaying, dip], 4, 1000)).toBe(10)
  })

  test('envelopeMaxBetween bounds the envelope over any interval', () => {
    const open = SESSION_OPEN_US
    for (const e of [decaying, dip, daily]) {
      const base = e.daily === true ? open : 0
      for (let from = base; from < base + 6000; from += 37) {
        for (const length of [0, 50, 400, 3000]) {
          const bound = envelopeMaxBetween(e, from, from + length)
          for (let j = 0; j <= 20; j++) {
            expect(envelopeAt(e, from + (length * j) / 20)).toBeLessThanOrEqual(bound + 1e-12)
          }
        }
      }
    }
  })
})

describe('steps and drift', () => {
  const steps = [
    { fromUs: 10, toUs: 20, value: 0.95 },
    { fromUs: 30, toUs: 40, value: 0.85 },
  ]

  test('a step overrides the default on [from, to)', () => {
    expect(stepAt(steps, 9, 0.7)).toBe(0.7)
    expect(stepAt(steps, 10, 0.7)).toBe(0.95)
    expect(stepAt(steps, 20, 0.7)).toBe(0.7)
    expect(stepAt(steps, 35, 0.7)).toBe(0.85)
  })

  test('stepMinBetween is the smallest value in force in the interval', () => {
    expect(stepMinBetween(steps, 0, 5, 0.7)).toBe(0.7)
    expect(stepMinBetween(steps, 0, 35, 0.9)).toBe(0.85)
    expect(stepMinBetween(steps, 12, 18, 0.99)).toBe(0.95)
  })

  test('drift interpolates its segments and holds the last level', () => {
    const segments = [
      { fromUs: 100, toUs: 200, fromLog: 0, toLog: -0.06 },
      { fromUs: 200, toUs: 600, fromLog: -0.06, toLog: -0.012 },
    ]
    expect(driftAt(segments, 50)).toBe(0)
    expect(driftAt(segments, 150)).toBeCloseTo(-0.03, 12)
    expect(driftAt(segments, 400)).toBeCloseTo(-0.036, 12)
    expect(driftAt(segments, 10_000)).toBe(-0.012)
  })
})
