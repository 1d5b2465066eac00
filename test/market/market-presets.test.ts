import { describe, expect, test } from 'vitest'
import { activityAt } from '../../src/market/intraday.js'
import type { MarketOptions } from '../../src/market/market.js'
import { createMarket, PRESET_NAMES } from '../../src/market/market.js'
import type { PresetName, QuoteTick, StatusTick, Tick, TradeTick } from '../../src/market/types.js'
import { runMarket, type TickRun, tickProblems } from './tick-checks.js'

const SECOND_US = 1_000_000
const MINUTE_US = 60 * SECOND_US
const at = (h: number, m: number, s = 0) => ((h * 60 + m) * 60 + s) * SECOND_US

/** Sizes and spans that cross each preset's events while keeping the whole file fast. */
const RUNS: Record<PresetName, { options: Partial<MarketOptions>; untilUs: number }> = {
  quiet: { options: {}, untilUs: at(12, 35) },
  normal: { options: { symbols: 200 }, untilUs: at(10, 5) },
  'open-burst': { options: { symbols: 200, ratePerSec: 100 }, untilUs: at(9, 38) },
  close: { options: { symbols: 200, ratePerSec: 100 }, untilUs: at(16, 3) },
  'news-spike': { options: { symbols: 200, ratePerSec: 300 }, untilUs: at(10, 7) },
  'flash-crash': { options: { symbols: 300, ratePerSec: 100 }, untilUs: at(14, 55) },
  'halt-resume': { options: { symbols: 200, ratePerSec: 300 }, untilUs: at(10, 8) },
  stress: { options: {}, untilUs: at(10, 0, 5) },
}

const runs = new Map<PresetName, TickRun>()
function run(preset: PresetName): TickRun {
  let result = runs.get(preset)
  if (result === undefined) {
    const { options, untilUs } = RUNS[preset]
    result = runMarket(createMarket({ seed: 2024, preset, ...options }), untilUs)
    runs.set(preset, result)
  }
  return result
}

const quotesOf = (ticks: readonly Tick[], symbol?: number) =>
  ticks.filter(
    (t): t is QuoteTick => t.kind === 'quote' && (symbol === undefined || t.symbol === symbol),
  )
const tradesOf = (ticks: readonly Tick[]) => ticks.filter((t): t is TradeTick => t.kind === 'trade')
const statusesOf = (ticks: readonly Tick[]) =>
  ticks.filter((t): t is StatusTick => t.kind === 'status')
const isCross = (t: Tick) => t.kind === 'trade' && (t.conditions[0] === 3 || t.conditions[0] === 4)
/** Quotes and continuous trades: the arrival process's events. */
const arrivalsIn = (ticks: readonly Tick[], fromUs: number, toUs: number, symbol?: number) =>
  ticks.filter(
    (t) =>
      t.kind !== 'status' &&
      !isCross(t) &&
      t.simTimeUs >= fromUs &&
      t.simTimeUs < toUs &&
      (symbol === undefined || t.symbol === symbol),
  ).length
const mid = (q: QuoteTick) => (q.bid + q.ask) / 2

const quoteIndex = new WeakMap<TickRun, QuoteTick[][]>()
/** The symbol's quote in force at `tUs` (its initial quote before its first). */
function quoteInForce(result: TickRun, symbol: number, tUs: number): QuoteTick {
  let bySymbol = quoteIndex.get(result)
  if (bySymbol === undefined) {
    const index: QuoteTick[][] = result.initialQuotes.map((q) => [q])
    for (const t of result.ticks) if (t.kind === 'quote') index[t.symbol]!.push(t)
    quoteIndex.set(result, index)
    bySymbol = index
  }
  const quotes = bySymbol[symbol]!
  let lo = 0
  let hi = quotes.length - 1
  while (lo < hi) {
    const m = (lo + hi + 1) >> 1
    if (quotes[m]!.simTimeUs <= tUs) lo = m
    else hi = m - 1
  }
  return quotes[lo]!
}

describe.each(PRESET_NAMES)('%s', (preset) => {
  test('keeps every invariant: grid, ask > bid, sizes, seq, time order, halts', () => {
    const result = run(preset)
    expect(result.ticks.length).toBeGreaterThan(10_000)
    expect(tickProblems(result)).toEqual([])
  })
})

describe('normal', () => {
  test('1 trade per 4 quotes', () => {
    const { ticks } = run('normal')
    const trades = tradesOf(ticks).length
    expect(trades / quotesOf(ticks).length).toBeCloseTo(0.25, 2)
  })
})

describe('quiet', () => {
  test('a fifth of normal activity, leaving many names silent for over 10 s', () => {
    const { ticks, market } = run('quiet')
    const from = market.startSimTimeUs
    const expected = 400 * 300 * activityAt(from + 150 * SECOND_US)
    expect(arrivalsIn(ticks, from, from + 300 * SECOND_US) / expected).toBeCloseTo(1, 1)
    const lastSeen = new Float64Array(market.instruments.length).fill(from)
    const longGap = new Uint8Array(market.instruments.length)
    for (const t of ticks) {
      if (t.simTimeUs - lastSeen[t.symbol]! > 10 * SECOND_US) longGap[t.symbol] = 1
      lastSeen[t.symbol] = t.simTimeUs
    }
    expect(longGap.reduce((a, b) => a + b, 0)).toBeGreaterThan(market.instruments.length / 2)
  })

  test('spreads are mostly 1 tick for every name', () => {
    const quotes = quotesOf(run('quiet').ticks)
    const market = run('quiet').market
    const oneTick = quotes.filter((q) => q.ask - q.bid === market.instruments[q.symbol]!.tickUnits)
    expect(oneTick.length / quotes.length).toBeGreaterThan(0.8)
  })

  test('has no auctions: no crosses and no imbalance notice through 16:00', () => {
    const market = createMarket({ seed: 1, preset: 'quiet', symbols: 20, ratePerSec: 5 })
    const { ticks } = runMarket(market, at(16, 5), 60 * SECOND_US)
    expect(ticks.filter(isCross)).toEqual([])
    expect(statusesOf(ticks)).toEqual([])
  })
})

describe('open-burst', () => {
  test('pre-open has quotes only, then one opening cross per name at 09:30:00', () => {
    const { ticks, market } = run('open-burst')
    const preOpen = ticks.filter((t) => t.simTimeUs < at(9, 30))
    expect(preOpen.length).toBeGreaterThan(100)
    expect(preOpen.filter((t) => t.kind !== 'quote')).toEqual([])
    const crosses = tradesOf(ticks).filter(isCross)
    expect(crosses).toHaveLength(market.instruments.length)
    for (const [i, c] of crosses.entries()) {
      expect(c).toMatchObject({ symbol: i, simTimeUs: at(9, 30), conditions: [3] })
    }
  })

  test('λ × 10 decaying with τ = 2 min on top of the 4× bell', () => {
    const { ticks } = run('open-burst')
    const firstMinute = arrivalsIn(ticks, at(9, 30), at(9, 31))
    const normalFirstMinute = 100 * 60 * 3.8
    // ∫ 1 + 9e^(−t/2min) over the first minute ≈ 1 + 9 · 2 · (1 − e^−0.5) = 8.08.
    expect(firstMinute / normalFirstMinute).toBeGreaterThan(6)
    expect(firstMinute / normalFirstMinute).toBeLessThan(10)
    const later = arrivalsIn(ticks, at(9, 37), at(9, 38)) / (100 * 60 * activityAt(at(9, 37, 30)))
    expect(later).toBeGreaterThan(0.8)
    expect(later).toBeLessThan(1.5)
  })

  test('spreads open wide and narrow as the minutes pass', () => {
    const { ticks, market } = run('open-burst')
    const meanTicks = (fromUs: number, toUs: number) => {
      const qs = quotesOf(ticks).filter(
        (q) => q.simTimeUs >= fromUs && q.simTimeUs < toUs && q.symbol < 100,
      )
      return (
        qs.reduce((a, q) => a + (q.ask - q.bid) / market.instruments[q.symbol]!.tickUnits, 0) /
        qs.length
      )
    }
    // Top-100 base mix (1, 2, 3 ticks w.p. .85, .12, .03) widened by the intraday factor
    // (3 at the bell, 1.9 at 7.5 min) times the preset's (3, then 1.45): about 10.5 and 3.5 ticks.
    expect(meanTicks(at(9, 30), at(9, 30, 30))).toBeGreaterThan(8)
    expect(meanTicks(at(9, 30), at(9, 30, 30))).toBeLessThan(12)
    expect(meanTicks(at(9, 37), at(9, 38))).toBeGreaterThan(3)
    expect(meanTicks(at(9, 37), at(9, 38))).toBeLessThan(4.2)
  })
})

describe('close', () => {
  test('every name gets one imbalance notice within a second of 15:50:00', () => {
    const { ticks, market } = run('close')
    const notices = statusesOf(ticks).filter((s) => s.status === 'imbalance')
    expect(notices.map((s) => s.symbol)).toEqual(market.instruments.map((i) => i.index))
    for (const s of notices) {
      expect(s.reason).toBe('noi')
      expect(s.simTimeUs).toBeGreaterThanOrEqual(at(15, 50))
      expect(s.simTimeUs).toBeLessThan(at(15, 50, 1))
    }
  })

  test('the imbalance notice comes with a × 3 burst for 2 s', () => {
    const { ticks } = run('close')
    const burst = arrivalsIn(ticks, at(15, 50), at(15, 50, 2))
    const before = arrivalsIn(ticks, at(15, 49, 50), at(15, 49, 58)) / 4
    expect(burst / before).toBeGreaterThan(2)
    expect(burst / before).toBeLessThan(4.5)
  })

  test('16:00:00 prints a closing cross then an opening cross for every name', () => {
    const { ticks, market } = run('close')
    const crosses = tradesOf(ticks).filter(isCross)
    const n = market.instruments.length
    expect(crosses).toHaveLength(2 * n)
    expect(crosses.every((c) => c.simTimeUs === at(16, 0))).toBe(true)
    expect(crosses.slice(0, n).map((c) => [c.symbol, c.conditions[0]])).toEqual(
      market.instruments.map((i) => [i.index, 4]),
    )
    expect(crosses.slice(n).map((c) => [c.symbol, c.conditions[0]])).toEqual(
      market.instruments.map((i) => [i.index, 3]),
    )
    // The closing cross is sized for 10% of a day's volume, the opening one for 2%.
    const total = (cs: TradeTick[]) => cs.reduce((a, c) => a + c.size, 0)
    expect(total(crosses.slice(0, n)) / total(crosses.slice(n))).toBeGreaterThan(3)
    expect(total(crosses.slice(0, n)) / total(crosses.slice(n))).toBeLessThan(8)
  })

  test('the next session opens at once: trading goes on after 16:00 at the bell’s pace', () => {
    const { ticks } = run('close')
    const after = arrivalsIn(ticks, at(16, 0), at(16, 1)) / (100 * 60)
    const open = arrivalsIn(ticks, at(15, 59), at(16, 0)) / (100 * 60)
    expect(after).toBeGreaterThan(3)
    expect(open).toBeGreaterThan(3)
  })
})

describe('news-spike', () => {
  const t0 = at(10, 0, 30)
  const newsQuote = () => {
    const { ticks } = run('news-spike')
    const first = quotesOf(ticks).find((q) => q.simTimeUs === t0)
    if (first === undefined) throw new Error('no quote at T0')
    return first
  }

  test('at T0 a head name re-quotes 5–10% away', () => {
    const news = newsQuote()
    expect(news.symbol).toBeGreaterThanOrEqual(1)
    expect(news.symbol).toBeLessThanOrEqual(19)
    const before = quoteInForce(run('news-spike'), news.symbol, t0 - 1)
    const move = Math.abs(Math.log(mid(news) / mid(before)))
    expect(move).toBeGreaterThan(Math.log(1.045))
    expect(move).toBeLessThan(Math.log(1.11))
  })

  test('its activity jumps about 20-fold and fades', () => {
    const { ticks } = run('news-spike')
    const x = newsQuote().symbol
    const before = arrivalsIn(ticks, at(10, 0), t0, x) / 30
    const after = arrivalsIn(ticks, t0, t0 + 30 * SECOND_US, x) / 30
    const late = arrivalsIn(ticks, t0 + 5 * MINUTE_US, t0 + 6 * MINUTE_US, x) / 60
    expect(after / before).toBeGreaterThan(8)
    expect(late).toBeLessThan(after / 2)
  })

  test('its spread triples for 30 s', () => {
    const { ticks, market } = run('news-spike')
    const x = newsQuote().symbol
    const tick = market.instruments[x]!.tickUnits
    const meanTicks = (fromUs: number, toUs: number) => {
      const qs = quotesOf(ticks, x).filter((q) => q.simTimeUs >= fromUs && q.simTimeUs < toUs)
      return qs.reduce((a, q) => a + (q.ask - q.bid) / tick, 0) / qs.length
    }
    const during = meanTicks(t0, t0 + 30 * SECOND_US)
    const after = meanTicks(t0 + 30 * SECOND_US, t0 + 3 * MINUTE_US)
    expect(during / after).toBeGreaterThan(2.4)
    expect(during / after).toBeLessThan(3.6)
  })
})

describe('flash-crash', () => {
  const t0 = at(14, 32)
  const t1 = t0 + 4 * MINUTE_US
  /** Mean log move of the names' mids between two times, from the quotes in force then. */
  function meanMove(result: TickRun, symbols: number[], fromUs: number, toUs: number): number {
    const moves = symbols.map((s) =>
      Math.log(mid(quoteInForce(result, s, toUs)) / mid(quoteInForce(result, s, fromUs))),
    )
    return moves.reduce((a, b) => a + b, 0) / moves.length
  }

  test('the market falls about 6% in 4 min, names beyond the top 100 10–15%, then recovers 80%', () => {
    const result = run('flash-crash')
    const top = Array.from({ length: 50 }, (_, i) => i)
    const tail = Array.from({ length: 100 }, (_, i) => 150 + i)
    const topFall = meanMove(result, top, t0, t1)
    expect(topFall).toBeGreaterThan(Math.log(0.91))
    expect(topFall).toBeLessThan(Math.log(0.97))
    const tailFall = meanMove(result, tail, t0, t1)
    expect(tailFall).toBeLessThan(Math.log(0.92))
    expect(tailFall).toBeGreaterThan(Math.log(0.8))
    const afterRecovery = meanMove(result, top, t0, t1 + 16 * MINUTE_US)
    // 20% of the fall remains: about −1.2%.
    expect(afterRecovery).toBeGreaterThan(Math.log(0.97))
    expect(afterRecovery).toBeLessThan(0.005)
  })

  test('during the crash 90% of trades sell and activity runs × 8', () => {
    const { ticks } = run('flash-crash')
    // Replay the quotes to know which side each print at the touch hit.
    const quotes = [...run('flash-crash').initialQuotes]
    let sells = 0
    let atTouch = 0
    for (const t of ticks) {
      if (t.kind === 'quote') quotes[t.symbol] = t
      if (t.kind !== 'trade' || t.simTimeUs < t0 || t.simTimeUs >= t1) continue
      if (isCross(t) || t.conditions.includes(5)) continue
      atTouch++
      if (t.price === quotes[t.symbol]!.bid) sells++
    }
    expect(atTouch).toBeGreaterThan(1000)
    expect(sells / atTouch).toBeGreaterThan(0.87)
    expect(sells / atTouch).toBeLessThan(0.93)
    const rate = arrivalsIn(ticks, t0, t1) / 240
    const baseline = arrivalsIn(ticks, at(14, 30), t0) / 120
    expect(rate / baseline).toBeGreaterThan(6)
    expect(rate / baseline).toBeLessThan(10)
  })

  test('LULD halts names leaving their band, for 5 minutes, then reopens them with a cross', () => {
    const { ticks } = run('flash-crash')
    const halts = statusesOf(ticks).filter((s) => s.status === 'halted')
    expect(halts.length).toBeGreaterThan(0)
    for (const halt of halts) {
      expect(halt.reason).toBe('luld')
      const own = ticks.filter((t) => t.symbol === halt.symbol && t.seq > halt.seq)
      if (halt.simTimeUs + 5 * MINUTE_US > run('flash-crash').untilUs) continue
      expect(own[0]).toMatchObject({ kind: 'status', status: 'trading', reason: 'reopen' })
      expect(own[0]?.simTimeUs).toBe(halt.simTimeUs + 5 * MINUTE_US)
      expect(own[1]).toMatchObject({ kind: 'trade', conditions: [3], simTimeUs: own[0]?.simTimeUs })
      expect(own[2]).toMatchObject({ kind: 'quote', simTimeUs: own[0]?.simTimeUs })
    }
  })
})

describe('halt-resume', () => {
  test('one head name halts at 10:00:30 for 5 minutes, reopens with a cross and a burst', () => {
    const { ticks } = run('halt-resume')
    const statuses = statusesOf(ticks)
    expect(statuses.map((s) => [s.status, s.reason, s.simTimeUs])).toEqual([
      ['halted', 'news', at(10, 0, 30)],
      ['trading', 'reopen', at(10, 5, 30)],
    ])
    const h = statuses[0]!.symbol
    expect(statuses[1]!.symbol).toBe(h)
    expect(h).toBeGreaterThanOrEqual(1)
    expect(h).toBeLessThanOrEqual(19)
    const own = ticks.filter((t) => t.symbol === h)
    const haltIndex = own.findIndex((t) => t.kind === 'status')
    // Nothing between the two status ticks: the name is silent for the whole halt.
    expect(own[haltIndex + 1]).toBe(statuses[1])
    expect(own[haltIndex + 2]).toMatchObject({
      kind: 'trade',
      conditions: [3],
      simTimeUs: at(10, 5, 30),
    })
    expect(own[haltIndex + 3]).toMatchObject({ kind: 'quote', simTimeUs: at(10, 5, 30) })
    const before = arrivalsIn(ticks, at(10, 0), at(10, 0, 30), h) / 30
    const after = arrivalsIn(ticks, at(10, 5, 30), at(10, 6), h) / 30
    expect(after / before).toBeGreaterThan(5)
  })
})

describe('stress', () => {
  test('8,000 names at 50,000 events/s at midday pace', () => {
    const { ticks, market } = run('stress')
    expect(market.instruments).toHaveLength(8000)
    const rate = arrivalsIn(ticks, at(10, 0), at(10, 0, 5)) / 5 / activityAt(at(10, 0, 2))
    expect(rate / 50_000).toBeGreaterThan(0.9)
    expect(rate / 50_000).toBeLessThan(1.1)
  })
})
