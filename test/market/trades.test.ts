import { describe, expect, test } from 'vitest'
import { createInstruments } from '../../src/market/instruments.js'
import { createTradeModel, meanTradeShares } from '../../src/market/trades.js'
import type { Instrument, QuoteTick, TradeTick } from '../../src/market/types.js'

const instrument = (overrides: Partial<Instrument>): Instrument => ({
  index: 0,
  symbol: 'AAPL',
  tickUnits: 100,
  lotSize: 100,
  startPrice: 1_000_000,
  volatility: 0.3,
  beta: 1,
  ...overrides,
})

const quoteOf = (bid: number, ask: number): QuoteTick => ({
  kind: 'quote',
  symbol: 0,
  seq: 1,
  simTimeUs: 0,
  bid,
  bidSize: 100,
  ask,
  askSize: 100,
})

function prints(
  inst: Instrument,
  quote: QuoteTick,
  n: number,
  sellProbability = Number.NaN,
  sizeMultiplier = 1,
): TradeTick[] {
  const model = createTradeModel(1, [inst])
  return Array.from({ length: n }, (_, k) =>
    model.trade(0, k + 1, k, quote, sellProbability, sizeMultiplier),
  )
}

describe('continuous trades', () => {
  // An odd two-sided sum (101 units wide) makes the side readable from every price.
  const wide = quoteOf(1_000_000, 1_000_101)
  const trades = prints(instrument({}), wide, 200_000)
  const isSell = (t: TradeTick) => t.price === wide.bid || t.price === 1_000_050

  test('print at the touch w.p. 0.75, otherwise off-exchange at the midpoint', () => {
    const atTouch = trades.filter((t) => t.price === wide.bid || t.price === wide.ask)
    expect(atTouch.length / trades.length).toBeCloseTo(0.75, 2)
    const misfits = trades.filter((t) => {
      const touch = t.price === wide.bid || t.price === wide.ask
      const inside = t.price === 1_000_050 || t.price === 1_000_051
      return !(touch || inside) || t.conditions.includes(5) === touch
    })
    expect(misfits).toEqual([])
  })

  test('the side follows a Markov chain that repeats w.p. 0.7', () => {
    let same = 0
    for (let i = 1; i < trades.length; i++) {
      if (isSell(trades[i]!) === isSell(trades[i - 1]!)) same++
    }
    expect(same / (trades.length - 1)).toBeCloseTo(0.7, 2)
    expect(trades.filter(isSell).length / trades.length).toBeCloseTo(0.5, 1)
  })

  test('sizes: 45% odd lots U(1, 99), else lots × ⌈Pareto(1.5)⌉ up to 2,000 lots', () => {
    const odd = trades.filter((t) => t.size < 100)
    expect(odd.length / trades.length).toBeCloseTo(0.45, 2)
    expect(odd.filter((t) => t.size < 1 || !t.conditions.includes(1))).toEqual([])
    expect(Math.max(...odd.map((t) => t.size))).toBe(99)
    const round = trades.filter((t) => t.size >= 100)
    const badRound = round.filter(
      (t) => t.size % 100 !== 0 || t.size > 200_000 || t.conditions.includes(1),
    )
    expect(badRound).toEqual([])
    // P(⌈X⌉ > 10) = 10^-1.5 for a Pareto(1, 1.5).
    expect(round.filter((t) => t.size > 1000).length / round.length).toBeCloseTo(10 ** -1.5, 2)
    const mean = trades.reduce((a, t) => a + t.size, 0) / trades.length
    expect(mean / meanTradeShares(100)).toBeGreaterThan(0.9)
    expect(mean / meanTradeShares(100)).toBeLessThan(1.1)
  })

  test('a few round-lot prints at the touch are intermarket sweeps', () => {
    const iso = trades.filter((t) => t.conditions.includes(2))
    expect(iso.length / trades.length).toBeGreaterThan(0.01)
    expect(iso.length / trades.length).toBeLessThan(0.05)
    expect(iso.filter((t) => t.price !== wide.bid && t.price !== wide.ask)).toEqual([])
  })

  test('a sell probability overrides the chain (a crash sells 90% of the time)', () => {
    const crash = prints(instrument({}), wide, 50_000, 0.9)
    expect(crash.filter(isSell).length / crash.length).toBeCloseTo(0.9, 2)
  })

  test('a size multiplier scales round lots', () => {
    const doubled = prints(instrument({}), wide, 20_000, Number.NaN, 2)
    const round = doubled.filter((t) => t.size >= 100)
    expect(round.length).toBeGreaterThan(10_000)
    expect(round.filter((t) => t.size % 200 !== 0)).toEqual([])
  })

  test('a one-unit spread has no inside: every print is at the touch', () => {
    const penny = instrument({ tickUnits: 1, startPrice: 5000 })
    const prices = new Set(prints(penny, quoteOf(5000, 5001), 5000).map((t) => t.price))
    expect([...prices].sort()).toEqual([5000, 5001])
  })

  test('a one-share lot has no odd lots', () => {
    const pricey = instrument({ lotSize: 1, startPrice: 150_000_000 })
    const all = prints(pricey, quoteOf(150_000_000, 150_000_100), 5000)
    expect(all.some((t) => t.conditions.includes(1))).toBe(false)
  })
})

describe('crosses', () => {
  test('print at the tick-rounded mid with the expected size on average', () => {
    const model = createTradeModel(1, createInstruments(1, 1))
    const quote = quoteOf(1_000_000, 1_000_300)
    const n = 20_000
    const crosses = Array.from({ length: n }, (_, k) =>
      model.cross(0, k + 1, 0, quote, 50_000, k % 2 === 0 ? 3 : 4),
    )
    expect(new Set(crosses.map((t) => t.price))).toEqual(new Set([1_000_200]))
    expect(crosses.filter((t) => t.size % 100 !== 0 || t.size <= 0)).toEqual([])
    expect(crosses.filter((t, k) => t.conditions[0] !== (k % 2 === 0 ? 3 : 4))).toEqual([])
    expect(crosses.every((t) => t.conditions.length === 1)).toBe(true)
    const mean = crosses.reduce((a, t) => a + t.size, 0) / n
    expect(mean / 50_000).toBeGreaterThan(0.97)
    expect(mean / 50_000).toBeLessThan(1.03)
  })
})
