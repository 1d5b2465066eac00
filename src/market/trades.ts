/**
 * Trade prints (market-data.md §4.1 step 6, §4.2) against the symbol's displayed quote.
 *
 * Side: a Markov sign chain (the next trade has the previous one's side w.p. 0.7), the order-flow
 * persistence seen in every market. Price: at the touch (ask for a buy, bid for a sell) w.p. 0.75;
 * otherwise an off-exchange print at the midpoint, rounded toward the aggressor, on the $0.0001
 * grid (so it may fall between ticks, as TRF prints do). Size: 45% odd lots U(1, lot − 1);
 * otherwise round lots × ⌈Pareto(1.5)⌉, capped at 2,000 lots.
 *
 * Trades do not consume displayed size or move the touch (§4.1's simple impact is left out): the
 * next quote follows the price model alone.
 */

import { createStream, type Rng } from './rng.js'
import type { Instrument, QuoteTick, TradeCondition, TradeTick } from './types.js'

const SAME_SIDE_PROBABILITY = 0.7
const AT_TOUCH_PROBABILITY = 0.75
const ODD_LOT_PROBABILITY = 0.45
const PARETO_ALPHA = 1.5
const MAX_LOTS = 2000
/** Share of round-lot prints at the touch flagged as intermarket sweeps (our choice, not §4.2). */
const ISO_PROBABILITY = 0.05

// Shared and frozen: a tick's condition list is never mutated, so one array per combination
// serves every tick instead of an allocation per trade.
const REGULAR: readonly TradeCondition[] = Object.freeze([0])
const ODD_LOT: readonly TradeCondition[] = Object.freeze([1])
const ISO: readonly TradeCondition[] = Object.freeze([2])
const OPENING_CROSS: readonly TradeCondition[] = Object.freeze([3])
const CLOSING_CROSS: readonly TradeCondition[] = Object.freeze([4])
const OFF_EXCHANGE: readonly TradeCondition[] = Object.freeze([5])
const ODD_LOT_OFF_EXCHANGE: readonly TradeCondition[] = Object.freeze([1, 5])

export interface TradeModel {
  /**
   * A continuous-trading print. `sellProbability` overrides the sign chain when it is a number
   * (a crash's one-way selling); NaN keeps the chain.
   */
  trade(
    symbol: number,
    seq: number,
    tUs: number,
    quote: QuoteTick,
    sellProbability: number,
    sizeMultiplier: number,
  ): TradeTick
  /** An auction print (opening/reopening cross: 3, closing cross: 4) at the quote's mid. */
  cross(
    symbol: number,
    seq: number,
    tUs: number,
    quote: QuoteTick,
    expectedShares: number,
    condition: 3 | 4,
  ): TradeTick
}

/** E[min(⌈Pareto(1, α)⌉, 2000)] = Σ_{k<2000} P(X > k) = 1 + Σ_{k=1}^{1999} k^−α ≈ 3.57. */
const MEAN_ROUND_LOTS = (() => {
  let sum = 1
  for (let k = 1; k < MAX_LOTS; k++) sum += k ** -PARETO_ALPHA
  return sum
})()

/** Mean shares per continuous trade for a round lot size (odd lots count too). */
export function meanTradeShares(lotSize: number): number {
  if (lotSize <= 1) return MEAN_ROUND_LOTS
  return ODD_LOT_PROBABILITY * (lotSize / 2) + (1 - ODD_LOT_PROBABILITY) * lotSize * MEAN_ROUND_LOTS
}

export function createTradeModel(seed: number, instruments: readonly Instrument[]): TradeModel {
  const count = instruments.length
  const rngs: Rng[] = instruments.map((i) => createStream(seed, `trade:${i.symbol}`))
  const lot = Int32Array.from(instruments, (i) => i.lotSize)
  const tick = Int32Array.from(instruments, (i) => i.tickUnits)
  /** 1 = the last trade was a sell; the chain starts on buys. */
  const lastSell = new Uint8Array(count)

  return {
    trade(symbol, seq, tUs, quote, sellProbability, sizeMultiplier) {
      const rng = rngs[symbol]!
      let sell: boolean
      if (Number.isNaN(sellProbability)) {
        const same = rng.uniform() < SAME_SIDE_PROBABILITY
        sell = same === (lastSell[symbol] === 1)
      } else {
        sell = rng.uniform() < sellProbability
      }
      lastSell[symbol] = sell ? 1 : 0

      const l = lot[symbol]!
      let size: number
      if (l > 1 && rng.uniform() < ODD_LOT_PROBABILITY) {
        size = 1 + rng.int(l - 1)
      } else {
        const lots = Math.min(MAX_LOTS, Math.ceil(rng.pareto(1, PARETO_ALPHA)))
        size = l * Math.max(1, Math.round(lots * sizeMultiplier))
      }
      const odd = size < l

      let price: number
      let conditions: readonly TradeCondition[]
      const u = rng.uniform()
      if (u < AT_TOUCH_PROBABILITY || quote.ask - quote.bid < 2) {
        price = sell ? quote.bid : quote.ask
        conditions = odd ? ODD_LOT : u < AT_TOUCH_PROBABILITY * ISO_PROBABILITY ? ISO : REGULAR
      } else {
        const twiceMid = quote.bid + quote.ask
        price = sell ? Math.floor(twiceMid / 2) : Math.ceil(twiceMid / 2)
        conditions = odd ? ODD_LOT_OFF_EXCHANGE : OFF_EXCHANGE
      }
      return { kind: 'trade', symbol, seq, simTimeUs: tUs, price, size, conditions }
    },

    cross(symbol, seq, tUs, quote, expectedShares, condition) {
      const rng = rngs[symbol]!
      const t = tick[symbol]!
      const l = lot[symbol]!
      let price = Math.round((quote.bid + quote.ask) / 2 / t) * t
      if (price < quote.bid) price = quote.bid
      if (price > quote.ask) price = quote.ask
      // Log-normal noise with mean 1 and σ = 0.3: auction volume varies from day to day, but a
      // wider σ would put the typical (median) cross well below its expected share of the day.
      const shares = expectedShares * Math.exp(0.3 * rng.normal() - 0.045)
      const size = l * Math.max(1, Math.round(shares / l))
      return {
        kind: 'trade',
        symbol,
        seq,
        simTimeUs: tUs,
        price,
        size,
        conditions: condition === 3 ? OPENING_CROSS : CLOSING_CROSS,
      }
    },
  }
}
