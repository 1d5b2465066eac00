/**
 * A replay's universe as plain data, so a copy elsewhere (an edge reading the generator's Redis
 * Stream) serves the same symbols, reference prices and opening book without the tape: the model's
 * universe is rebuilt from its seed, a tape's has to travel.
 */

import type { Instrument, Market, QuoteTick, Tick } from '../types.js'

export interface UniverseEntry {
  readonly symbol: string
  readonly tickUnits: number
  readonly lotSize: number
  readonly startPrice: number
  /** The opening top of book (the initial quote, q 0). */
  readonly bid: number
  readonly bidSize: number
  readonly ask: number
  readonly askSize: number
}

/** A market's universe and opening book, as data (read before it starts). */
export function universeOf(market: Market): UniverseEntry[] {
  return market.instruments.map((instrument, i) => {
    const quote = market.latestQuote(i)
    return {
      symbol: instrument.symbol,
      tickUnits: instrument.tickUnits,
      lotSize: instrument.lotSize,
      startPrice: instrument.startPrice,
      bid: quote.bid,
      bidSize: quote.bidSize,
      ask: quote.ask,
      askSize: quote.askSize,
    }
  })
}

/**
 * A market that is only a universe: its instruments and opening book, and no ticks of its own
 * (the events come from elsewhere). What an edge of a tape replay builds.
 */
export function universeMarket(entries: readonly UniverseEntry[], startSimTimeUs = 0): Market {
  const instruments: Instrument[] = entries.map((entry, index) => ({
    index,
    symbol: entry.symbol,
    tickUnits: entry.tickUnits,
    lotSize: entry.lotSize,
    startPrice: entry.startPrice,
    volatility: 0,
    beta: 0,
  }))
  const quotes: QuoteTick[] = entries.map((entry, symbol) => ({
    kind: 'quote',
    symbol,
    seq: 0,
    simTimeUs: startSimTimeUs,
    bid: entry.bid,
    bidSize: entry.bidSize,
    ask: entry.ask,
    askSize: entry.askSize,
  }))
  return {
    seed: 0,
    preset: 'normal',
    instruments,
    startSimTimeUs,
    simTimeUs: startSimTimeUs,
    advanceTo(_untilSimTimeUs: number, _out: Tick[]): void {},
    latestQuote(symbol: number): QuoteTick {
      const quote = quotes[symbol]
      if (quote === undefined) throw new RangeError(`no instrument ${symbol}`)
      return quote
    },
  }
}
