/**
 * The stylized facts of market-data.md §4.5, measured on the market's own output (seeded, so
 * each figure is fixed; the bounds leave room for model refinements, not for luck).
 */

import { describe, expect, test } from 'vitest'
import { activityAt } from '../../src/market/intraday.js'
import { createMarket } from '../../src/market/market.js'
import { zipfShares } from '../../src/market/symbol-choice.js'
import type { Tick } from '../../src/market/types.js'

const SECOND_US = 1_000_000
const MINUTE_US = 60 * SECOND_US
const at = (h: number, m: number, s = 0) => ((h * 60 + m) * 60 + s) * SECOND_US

const isArrival = (t: Tick) =>
  t.kind === 'quote' || (t.kind === 'trade' && t.conditions[0] !== 3 && t.conditions[0] !== 4)

/** λ̄ ∫ m(t) dt over [fromUs, toUs): the expected number of arrivals on a plain day. */
function expectedArrivals(ratePerSec: number, fromUs: number, toUs: number): number {
  let sum = 0
  for (let t = fromUs; t < toUs; t += SECOND_US) sum += activityAt(t + SECOND_US / 2)
  return ratePerSec * sum
}

function acfLag1(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  let num = 0
  let den = 0
  for (let i = 0; i < xs.length; i++) {
    den += (xs[i]! - mean) ** 2
    if (i > 0) num += (xs[i]! - mean) * (xs[i - 1]! - mean)
  }
  return num / den
}

describe('a long run: 50 names, 13 hours from 10:00 (two bells)', () => {
  const ratePerSec = 20
  const market = createMarket({ seed: 7, symbols: 50, ratePerSec })
  const start = market.startSimTimeUs
  const minutes = 780
  const arrivalsPerMinute: number[] = []
  const mids: number[][] = []
  const crossShares = { opening: 0, closing: 0, continuous: 0 }
  const session1 = { from: at(16, 0), to: at(22, 30) }
  const out: Tick[] = []
  for (let k = 0; k <= minutes; k++) {
    out.length = 0
    market.advanceTo(start + k * MINUTE_US, out)
    let arrivals = 0
    for (const t of out) {
      if (isArrival(t)) arrivals++
      if (t.kind !== 'trade' || t.simTimeUs < session1.from || t.simTimeUs > session1.to) continue
      if (t.conditions[0] === 3 && t.simTimeUs === session1.from) crossShares.opening += t.size
      else if (t.conditions[0] === 4 && t.simTimeUs === session1.to) crossShares.closing += t.size
      else if (t.simTimeUs < session1.to && t.conditions[0] !== 3) crossShares.continuous += t.size
    }
    if (k > 0) arrivalsPerMinute.push(arrivals)
    mids.push(
      market.instruments.map((i) => {
        const q = market.latestQuote(i.index)
        return (q.bid + q.ask) / 2
      }),
    )
  }
  /** Arrivals in [fromUs, toUs), whole minutes since the start. */
  const arrivalsIn = (fromUs: number, toUs: number) =>
    arrivalsPerMinute
      .slice((fromUs - start) / MINUTE_US, (toUs - start) / MINUTE_US)
      .reduce((a, b) => a + b, 0)

  // Names at $20 and up, where a tick is small next to a minute's move.
  const names = market.instruments.filter((i) => i.startPrice >= 200_000).map((i) => i.index)
  const returns = names.map((s) =>
    Array.from({ length: minutes }, (_, k) => Math.log(mids[k + 1]![s]! / mids[k]![s]!)),
  )

  test('event counts are within ±10% of λ̄·∫m(t), overall and hour by hour', () => {
    const end = start + minutes * MINUTE_US
    const overall = arrivalsIn(start, end) / expectedArrivals(ratePerSec, start, end)
    expect(overall).toBeGreaterThan(0.9)
    expect(overall).toBeLessThan(1.1)
    for (let from = start; from < end; from += 60 * MINUTE_US) {
      const ratio =
        arrivalsIn(from, from + 60 * MINUTE_US) /
        expectedArrivals(ratePerSec, from, from + 60 * MINUTE_US)
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.1)
    }
  })

  test('the 15 minutes before and after the bell run 2.5–5× midday', () => {
    const midday = arrivalsIn(at(12, 37), at(12, 52))
    const close = arrivalsIn(at(15, 45), at(16, 0)) / midday
    const open = arrivalsIn(at(16, 0), at(16, 15)) / midday
    for (const ratio of [open, close]) {
      expect(ratio).toBeGreaterThan(2.5)
      expect(ratio).toBeLessThan(5)
    }
  })

  test('crosses carry about 2% (open) and 10% (close) of a session’s volume', () => {
    const day = crossShares.opening + crossShares.closing + crossShares.continuous
    expect(crossShares.opening / day).toBeGreaterThan(0.01)
    expect(crossShares.opening / day).toBeLessThan(0.04)
    expect(crossShares.closing / day).toBeGreaterThan(0.05)
    expect(crossShares.closing / day).toBeLessThan(0.2)
  })

  test('1-minute returns are fat-tailed: kurtosis > 4', () => {
    const pooled = returns.flatMap((r) => {
      const mean = r.reduce((a, b) => a + b, 0) / r.length
      const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length)
      return r.map((x) => (x - mean) / sd)
    })
    expect(names.length).toBeGreaterThan(25)
    expect(pooled.reduce((a, z) => a + z ** 4, 0) / pooled.length).toBeGreaterThan(4)
  })

  test('volatility clusters: the lag-1 autocorrelation of |r| is positive', () => {
    const mean =
      returns.map((r) => acfLag1(r.map(Math.abs))).reduce((a, b) => a + b, 0) / returns.length
    expect(mean).toBeGreaterThan(0.03)
  })

  test('returns themselves are not predictable: lag-1 autocorrelation ≈ 0', () => {
    const mean = returns.map(acfLag1).reduce((a, b) => a + b, 0) / returns.length
    expect(Math.abs(mean)).toBeLessThan(0.1)
  })
})

describe('10 minutes of the normal market (500 names, 2,000 events/s)', () => {
  const market = createMarket({ seed: 11 })
  const counts: number[] = []
  const bySymbol = new Float64Array(market.instruments.length)
  const out: Tick[] = []
  let arrivals = 0
  for (let k = 1; k <= 6000; k++) {
    out.length = 0
    market.advanceTo(market.startSimTimeUs + k * 100_000, out)
    counts.push(out.length)
    for (const t of out) {
      if (!isArrival(t)) continue
      arrivals++
      bySymbol[t.symbol] = bySymbol[t.symbol]! + 1
    }
  }

  test('top-1, top-10 and top-100 shares are within 2 pp of the Zipf targets', () => {
    const shares = zipfShares(market.instruments.length)
    for (const k of [1, 10, 100]) {
      const observed = bySymbol.slice(0, k).reduce((a, b) => a + b, 0) / arrivals
      const target = shares.slice(0, k).reduce((a, b) => a + b, 0)
      expect(Math.abs(observed - target)).toBeLessThan(0.02)
    }
  })

  test('arrivals are bursty: variance/mean of counts per 100 ms > 3', () => {
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / counts.length
    expect(mean).toBeGreaterThan(200)
    expect(variance / mean).toBeGreaterThan(3)
  })
})
