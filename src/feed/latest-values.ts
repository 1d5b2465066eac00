import type { Market, QuoteTick, Tick } from '../market/types.js'

/** What a snapshot says about one symbol: its top of book, last trade and trading state. */
export interface SymbolState {
  readonly symbol: number
  /** Latest per-symbol sequence of any tick kind, so per-symbol gap checks continue after a snapshot. */
  readonly seq: number
  readonly quote: QuoteTick
  /** Last trade price in price units, or -1 before the first trade. */
  readonly lastPrice: number
  readonly halted: boolean
}

/** The latest value per symbol: O(1) to update per tick, read only for snapshots. */
export interface LatestValues {
  apply(tick: Tick): void
  get(symbol: number): SymbolState
  /** Sets one symbol's state as another copy of the log had it (an edge joining mid-stream). */
  restore(state: SymbolState): void
}

export function createLatestValues(market: Market): LatestValues {
  const count = market.instruments.length
  const quotes: QuoteTick[] = []
  for (let i = 0; i < count; i++) quotes.push(market.latestQuote(i))
  const seqs = new Float64Array(count)
  const lastPrices = new Float64Array(count).fill(-1)
  const halted = new Uint8Array(count)

  return {
    apply(tick) {
      seqs[tick.symbol] = tick.seq
      switch (tick.kind) {
        case 'quote':
          quotes[tick.symbol] = tick
          break
        case 'trade':
          lastPrices[tick.symbol] = tick.price
          break
        case 'status':
          if (tick.status === 'halted') halted[tick.symbol] = 1
          else if (tick.status === 'trading') halted[tick.symbol] = 0
          break
      }
    },
    restore(state) {
      seqs[state.symbol] = state.seq
      quotes[state.symbol] = state.quote
      lastPrices[state.symbol] = state.lastPrice
      halted[state.symbol] = state.halted ? 1 : 0
    },
    get(symbol) {
      return {
        symbol,
        seq: seqs[symbol]!,
        quote: quotes[symbol]!,
        lastPrice: lastPrices[symbol]!,
        halted: halted[symbol] === 1,
      }
    },
  }
}
