/**
 * Invariants every market run must hold (market-data.md §4.5), as a list of problems so that one
 * assertion reports them all. Shared by the market tests; not a test file itself.
 */

import type { Market, QuoteTick, Tick } from '../../src/market/types.js'

const MAX_REPORTED = 20

export interface TickRun {
  readonly market: Market
  /** Every symbol's quote before the run (seq 0 at the start). */
  readonly initialQuotes: readonly QuoteTick[]
  readonly ticks: readonly Tick[]
  readonly untilUs: number
}

export function tickProblems({ market, initialQuotes, ticks, untilUs }: TickRun): string[] {
  const problems: string[] = []
  const report = (i: number, what: string): void => {
    if (problems.length < MAX_REPORTED)
      problems.push(`tick ${i} ${JSON.stringify(ticks[i])}: ${what}`)
  }
  const count = market.instruments.length
  const lastSeq = new Float64Array(count)
  const halted = new Uint8Array(count)
  const quotes = [...initialQuotes]
  let lastTime = market.startSimTimeUs
  const seen = new Set<Tick>()

  for (const [i, tick] of ticks.entries()) {
    if (seen.has(tick)) report(i, 'same object emitted twice')
    seen.add(tick)
    const { symbol } = tick
    const instrument = market.instruments[symbol]
    if (instrument === undefined) {
      report(i, 'unknown symbol')
      continue
    }
    if (!Number.isInteger(tick.simTimeUs)) report(i, 'time not an integer')
    if (tick.simTimeUs < lastTime) report(i, 'time went backwards')
    if (tick.simTimeUs > untilUs) report(i, 'time past the target')
    lastTime = tick.simTimeUs
    if (tick.seq !== lastSeq[symbol]! + 1) report(i, `seq after ${lastSeq[symbol]}`)
    lastSeq[symbol] = tick.seq
    const tickUnits = instrument.tickUnits
    switch (tick.kind) {
      case 'quote': {
        if (halted[symbol] === 1) report(i, 'quote while halted')
        if (tick.bid % tickUnits !== 0 || tick.ask % tickUnits !== 0) report(i, 'off the tick grid')
        if (!(tick.bid > 0 && tick.ask > tick.bid)) report(i, 'not 0 < bid < ask')
        if (!(tick.bidSize > 0 && tick.askSize > 0)) report(i, 'size not positive')
        if (tick.bidSize % instrument.lotSize !== 0 || tick.askSize % instrument.lotSize !== 0) {
          report(i, 'quote size not in round lots')
        }
        quotes[symbol] = tick
        break
      }
      case 'trade': {
        if (halted[symbol] === 1) report(i, 'trade while halted')
        if (!(Number.isInteger(tick.size) && tick.size > 0))
          report(i, 'size not a positive integer')
        if (!(Number.isInteger(tick.price) && tick.price > 0))
          report(i, 'price not a positive integer')
        const c = tick.conditions
        if (c.length === 0) report(i, 'no condition')
        if (c.includes(1) !== tick.size < instrument.lotSize) report(i, 'odd-lot flag wrong')
        if (c.includes(5)) {
          // Off-exchange prints may sit between ticks, inside the quote they traded against.
          const q = quotes[symbol]!
          if (tick.price < q.bid || tick.price > q.ask)
            report(i, 'off-exchange print outside quote')
        } else if (tick.price % tickUnits !== 0) {
          report(i, 'lit print off the tick grid')
        }
        break
      }
      case 'status': {
        if (!['halted', 'trading', 'imbalance'].includes(tick.status)) report(i, 'unknown status')
        if (tick.reason.length === 0) report(i, 'no reason')
        if (tick.status === 'halted') {
          if (halted[symbol] === 1) report(i, 'halted twice')
          halted[symbol] = 1
        }
        if (tick.status === 'trading') {
          if (halted[symbol] === 0) report(i, 'resumed without a halt')
          halted[symbol] = 0
        }
        break
      }
    }
  }
  if (lastTime > untilUs) problems.push('clock past the target')
  if (market.simTimeUs !== untilUs) problems.push(`simTimeUs ${market.simTimeUs} ≠ ${untilUs}`)
  return problems
}

/** Runs a market to `untilUs` in steps of `stepUs`, collecting every tick. */
export function runMarket(market: Market, untilUs: number, stepUs = 100_000): TickRun {
  const initialQuotes = market.instruments.map((_, i) => market.latestQuote(i))
  const ticks: Tick[] = []
  for (let t = market.simTimeUs + stepUs; t < untilUs; t += stepUs) market.advanceTo(t, ticks)
  market.advanceTo(untilUs, ticks)
  return { market, initialQuotes, ticks, untilUs }
}

/** Canonical integer serialization: one line per tick, fields in a fixed order. */
export function serializeTicks(ticks: readonly Tick[]): string {
  return ticks
    .map((t) => {
      switch (t.kind) {
        case 'quote':
          return `Q,${t.symbol},${t.seq},${t.simTimeUs},${t.bid},${t.bidSize},${t.ask},${t.askSize}`
        case 'trade':
          return `T,${t.symbol},${t.seq},${t.simTimeUs},${t.price},${t.size},${t.conditions.join('+')}`
        default:
          return `S,${t.symbol},${t.seq},${t.simTimeUs},${t.status},${t.reason}`
      }
    })
    .join('\n')
}

/** Index of the first tick where two runs differ (in any field or in length), or -1. */
export function firstDifference(a: readonly Tick[], b: readonly Tick[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] as unknown as Record<string, unknown>
    const y = b[i] as unknown as Record<string, unknown>
    for (const key of Object.keys(x)) {
      const u = x[key]
      const v = y[key]
      if (Array.isArray(u) && Array.isArray(v) ? u.join() !== v.join() : u !== v) return i
    }
  }
  return a.length === b.length ? -1 : n
}
