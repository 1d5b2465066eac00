import { defaultTickSize } from './format.js'
import { createPriceHistory, type PriceHistory } from './price-history.js'
import type { StreamEvent } from './stream-event.js'

/** The latest state of one watched symbol, as the table and charts show it. */
export interface SymbolState {
  readonly symbol: string
  /** The instrument's start price (`/v1/symbols`): "change" is measured from it. */
  readonly reference: number
  /** The instrument's minimum price increment (`/v1/symbols`): its prices show its decimals. */
  readonly tickSize: number
  bid: number
  bidSize: number
  ask: number
  askSize: number
  /** Last trade price; NaN until the first trade (or a snapshot's `lp`). */
  last: number
  halted: boolean
  /** Bumped on every change: the table skips rows whose version it has drawn. */
  version: number
  readonly history: PriceHistory
}

export interface QuoteBook {
  /** Applies one event to the symbol it concerns (or, for a snapshot, to each it lists). */
  apply(event: StreamEvent): void
  get(symbol: string): SymbolState | undefined
  /** Keeps exactly these symbols, in this order; new ones start empty. */
  setSymbols(symbols: readonly string[]): void
  readonly symbols: readonly string[]
}

/** What `/v1/symbols` says of an instrument that the page uses. */
export interface InstrumentInfo {
  readonly startPrice: number
  readonly tickSize: number
}

export function createQuoteBook(
  describe: (symbol: string) => InstrumentInfo | undefined,
): QuoteBook {
  let states = new Map<string, SymbolState>()

  const blank = (symbol: string): SymbolState => {
    const info = describe(symbol)
    const reference = info?.startPrice ?? Number.NaN
    return {
      symbol,
      reference,
      tickSize: info?.tickSize ?? defaultTickSize(reference),
      bid: Number.NaN,
      bidSize: 0,
      ask: Number.NaN,
      askSize: 0,
      last: Number.NaN,
      halted: false,
      version: 0,
      history: createPriceHistory(),
    }
  }

  const touch = (state: SymbolState, tsUs: number): void => {
    state.version++
    state.history.record(tsUs, state.bid, state.ask, state.last)
  }

  return {
    apply(event) {
      if (event.type === 'snapshot') {
        for (const quote of event.data.quotes) {
          const state = states.get(quote.sym)
          if (state === undefined) continue
          state.bid = quote.bp
          state.bidSize = quote.bs
          state.ask = quote.ap
          state.askSize = quote.as
          if (quote.lp !== undefined) state.last = quote.lp
          state.halted = quote.halted === true
          touch(state, event.data.ts)
        }
        return
      }
      const state = states.get(event.data.sym)
      if (state === undefined) return
      switch (event.type) {
        case 'quote':
          state.bid = event.data.bp
          state.bidSize = event.data.bs
          state.ask = event.data.ap
          state.askSize = event.data.as
          break
        case 'trade':
          state.last = event.data.p
          break
        case 'status':
          if (event.data.status === 'halted') state.halted = true
          else if (event.data.status === 'trading') state.halted = false
          break
      }
      touch(state, event.data.ts)
    },
    get(symbol) {
      return states.get(symbol)
    },
    setSymbols(symbols) {
      states = new Map(symbols.map((symbol) => [symbol, states.get(symbol) ?? blank(symbol)]))
    },
    get symbols() {
      return [...states.keys()]
    },
  }
}
