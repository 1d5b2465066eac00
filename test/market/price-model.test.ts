import { describe, expect, test } from 'vitest'
import { SESSION_LENGTH_US } from '../../src/market/intraday.js'
import { BUSINESS_SECONDS_PER_YEAR, type MarketFactor } from '../../src/market/market-factor.js'
import {
  createPriceModel,
  type PriceModelOptions,
  rankedSpreadBp,
} from '../../src/market/price-model.js'
import { EMPTY_SCENARIO } from '../../src/market/scenario.js'
import { type Instrument, type QuoteTick, SESSION_OPEN_US } from '../../src/market/types.js'

/** 200 minutes after the open: the intraday spread factor is 1 + 2e^-20, i.e. 1. */
const MIDDAY_US = SESSION_OPEN_US + 200 * 60_000_000

function instrument(index: number, startPrice: number, overrides: Partial<Instrument> = {}) {
  return {
    index,
    symbol: `S${index}`,
    tickUnits: startPrice >= 10_000 ? 100 : 1,
    lotSize: 100,
    startPrice,
    volatility: 0.4,
    beta: 1,
    ...overrides,
  }
}

/** A factor the test drives by hand. */
function manualFactor(): MarketFactor & { clock: number; level: number } {
  return { clock: 0, level: 0, moveTo: () => {} }
}

function model(instruments: Instrument[], overrides: Partial<PriceModelOptions> = {}) {
  const factor = manualFactor()
  const prices = createPriceModel({
    seed: 1,
    instruments,
    factor,
    marketVolatility: 0.16,
    volatilityScale: 1,
    jumpsPerSession: 0,
    jumpSigma: 0.03,
    spreadModel: 'ranked',
    scenario: EMPTY_SCENARIO,
    startSimTimeUs: MIDDAY_US,
    ...overrides,
  })
  return { prices, factor }
}

function quoteProblems(q: QuoteTick, inst: Instrument): string[] {
  const problems: string[] = []
  if (q.bid % inst.tickUnits !== 0 || q.ask % inst.tickUnits !== 0) problems.push('off grid')
  if (!(q.ask > q.bid) || q.bid <= 0) problems.push('not ask > bid > 0')
  if (q.bidSize <= 0 || q.askSize <= 0) problems.push('empty size')
  if (q.bidSize % inst.lotSize !== 0 || q.askSize % inst.lotSize !== 0) problems.push('odd size')
  return problems
}

describe('quotes', () => {
  test('sit on the tick grid with ask > bid > 0 and round-lot sizes, at any price', () => {
    const extremes = [1_500_000, 1_200, 3, 150_000_000, 9_900, 10_100]
    // The same prices among the top 100 (tick-based spreads) and beyond (bp-based spreads).
    const instruments = Array.from({ length: 206 }, (_, i) => {
      const price = extremes[i % 200] ?? 1_000_000
      return instrument(i, price, { lotSize: price > 100_000_000 ? 1 : 100 })
    })
    const stepped = instruments.filter((i) => i.index % 200 < extremes.length)
    const { prices, factor } = model(instruments, { volatilityScale: 5 })
    const problems: string[] = []
    for (let k = 1; k <= 10_000; k++) {
      factor.clock = k * 60
      const t = MIDDAY_US + k * 1_000_000
      for (const inst of stepped) {
        prices.step(inst.index, t)
        const q = prices.quote(inst.index, k, t, 1 + (k % 7), 1)
        for (const p of quoteProblems(q, inst)) problems.push(`${inst.symbol} ${p}`)
      }
    }
    expect(problems).toEqual([])
  })

  test('the top 100 quote 1 tick wide w.p. 0.85, 2 ticks 0.12, 3 ticks 0.03 at midday', () => {
    const { prices } = model([instrument(0, 1_000_000)])
    const counts = [0, 0, 0, 0]
    const n = 100_000
    for (let k = 0; k < n; k++) {
      const q = prices.quote(0, k, MIDDAY_US, 1, 1)
      const ticks = (q.ask - q.bid) / 100
      counts[ticks] = (counts[ticks] ?? 0) + 1
    }
    expect(counts[1]! / n).toBeCloseTo(0.85, 2)
    expect(counts[2]! / n).toBeCloseTo(0.12, 2)
    expect(counts[3]! / n).toBeCloseTo(0.03, 2)
  })

  test('the spread widens ×3 at the open and by the scenario multiplier', () => {
    const { prices } = model([instrument(0, 1_000_000)])
    const mean = (t: number, multiplier: number) => {
      let sum = 0
      for (let k = 0; k < 20_000; k++) {
        const q = prices.quote(0, k, t, multiplier, 1)
        sum += (q.ask - q.bid) / 100
      }
      return sum / 20_000
    }
    const midday = mean(MIDDAY_US, 1)
    expect(midday).toBeCloseTo(0.85 + 0.24 + 0.09, 1)
    expect(mean(SESSION_OPEN_US, 1) / midday).toBeCloseTo(3, 1)
    expect(mean(MIDDAY_US, 10) / midday).toBeCloseTo(10, 0)
  })

  test('names beyond the top 100 quote 5–40 bp, rising with rank', () => {
    expect(rankedSpreadBp(100)).toBe(5)
    expect(rankedSpreadBp(8000)).toBeCloseTo(40, 10)
    expect(rankedSpreadBp(1000)).toBeGreaterThan(rankedSpreadBp(500))
    const inst = instrument(3999, 500_000)
    const instruments = Array.from({ length: 4000 }, (_, i) =>
      i === 3999 ? inst : instrument(i, 500_000),
    )
    const { prices } = model(instruments)
    let sumBp = 0
    const n = 20_000
    for (let k = 0; k < n; k++) {
      const q = prices.quote(3999, k, MIDDAY_US, 1, 1)
      sumBp += ((q.ask - q.bid) / 500_000) * 1e4
    }
    // Rounding up to whole ticks adds about half a tick (1 bp at $50) to the target.
    const target = rankedSpreadBp(4000)
    expect(sumBp / n).toBeGreaterThan(target)
    expect(sumBp / n).toBeLessThan(target + 2.1)
  })

  test('sizes are lots × (1 + Geometric(0.3)), scaled by the multiplier', () => {
    const { prices } = model([instrument(0, 1_000_000)])
    const meanLots = (multiplier: number) => {
      let sum = 0
      for (let k = 0; k < 50_000; k++) sum += prices.quote(0, k, MIDDAY_US, 1, multiplier).bidSize
      return sum / 50_000 / 100
    }
    expect(meanLots(1)).toBeCloseTo(1 + 0.7 / 0.3, 1)
    // × 0.2 rounds most quotes down to the one-lot minimum.
    expect(meanLots(0.2)).toBeGreaterThan(1)
    expect(meanLots(0.2)).toBeLessThan(1.3)
  })
})

describe('log-price dynamics', () => {
  const sigmaPerSec = 0.4 / Math.sqrt(BUSINESS_SECONDS_PER_YEAR)

  test('a step has variance σ²ΔC and the Itô drift −½σ²ΔC (β = 0 here)', () => {
    const n = 4000
    const instruments = Array.from({ length: n }, (_, i) => instrument(i, 1_000_000, { beta: 0 }))
    const { prices, factor } = model(instruments)
    factor.clock = 23_400
    const returns = instruments.map((inst) => {
      prices.step(inst.index, MIDDAY_US + 1)
      return Math.log(prices.midUnits(inst.index) / 1_000_000)
    })
    const variance = sigmaPerSec ** 2 * 23_400
    const mean = returns.reduce((a, b) => a + b, 0) / n
    const sampleVariance = returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n
    expect(sampleVariance / variance).toBeGreaterThan(0.93)
    expect(sampleVariance / variance).toBeLessThan(1.07)
    expect(Math.abs(mean + variance / 2)).toBeLessThan(4 * Math.sqrt(variance / n))
  })

  test('the market factor moves each name by β·ΔF', () => {
    const instruments = [instrument(0, 1_000_000, { beta: 1.25, volatility: 0 })]
    const { prices, factor } = model(instruments, { marketVolatility: 0 })
    factor.clock = 1e-9
    factor.level = 0.04
    prices.step(0, MIDDAY_US + 1)
    expect(Math.log(prices.midUnits(0) / 1_000_000)).toBeCloseTo(0.05, 9)
  })

  test('Merton jumps arrive at λ_J per session with log size N(0, σ_J)', () => {
    const instruments = [instrument(0, 1_000_000, { volatility: 0, beta: 0 })]
    const { prices } = model(instruments, { jumpsPerSession: 2000 })
    const jumps: number[] = []
    let last = Math.log(prices.midUnits(0))
    for (let k = 1; k <= SESSION_LENGTH_US / 1e6; k++) {
      prices.step(0, MIDDAY_US + k * 1_000_000)
      const x = Math.log(prices.midUnits(0))
      if (x !== last) jumps.push(x - last)
      last = x
    }
    // A second holding two jumps counts once: expected distinct seconds 23,400·(1 − e^-0.0855).
    const seconds = SESSION_LENGTH_US / 1e6
    const expected = seconds * (1 - Math.exp(-2000 / seconds))
    expect(jumps.length / expected).toBeGreaterThan(0.93)
    expect(jumps.length / expected).toBeLessThan(1.07)
    const sd = Math.sqrt(jumps.reduce((a, b) => a + b * b, 0) / jumps.length)
    expect(sd).toBeGreaterThan(0.029)
    expect(sd).toBeLessThan(0.033)
  })

  test('jump() moves the log price at once', () => {
    const { prices } = model([instrument(0, 1_000_000)])
    prices.jump(0, Math.log(1.08))
    expect(prices.midUnits(0)).toBeCloseTo(1_080_000, 3)
  })
})
