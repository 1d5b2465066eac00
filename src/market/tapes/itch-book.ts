/**
 * The order book ITCH 5.0 asks its reader to keep (TotalView-ITCH 5.0 §1: "the order book is built
 * from the add, execute, cancel, delete and replace messages"): every live order by reference
 * number, and per stock the shares at each price level. Only the top of book leaves this file.
 *
 * Levels are a Map per side with the best price cached; when the best level empties, the next best
 * is found by a scan of that side's levels. That scan is O(levels), paid only when the touch is
 * consumed, and a stock rarely shows more than a few hundred levels; a sorted structure would make
 * every add pay instead.
 */

const BUY = 0
const SELL = 1
export type Side = typeof BUY | typeof SELL

export interface LiveOrder {
  readonly locate: number
  readonly side: Side
  readonly price: number
  shares: number
}

interface SideLevels {
  readonly levels: Map<number, number>
  /** Best price, 0 when the side is empty (ITCH prices are positive). */
  best: number
}

export interface Top {
  bid: number
  bidSize: number
  ask: number
  askSize: number
}

export interface ItchBook {
  /** Number of live orders (memory grows with them, not with the tape's length). */
  readonly orders: number
  add(ref: number, locate: number, side: Side, price: number, shares: number): void
  get(ref: number): LiveOrder | undefined
  /** Takes `shares` off an order (execution or partial cancel); removes it at zero. */
  reduce(ref: number, shares: number): LiveOrder | undefined
  remove(ref: number): LiveOrder | undefined
  /** Writes the stock's top of book into `out`. */
  top(locate: number, out: Top): void
}

export function sideOf(indicator: number): Side | undefined {
  if (indicator === 0x42) return BUY // 'B'
  if (indicator === 0x53) return SELL // 'S'
  return undefined
}

export function createItchBook(): ItchBook {
  const orders = new Map<number, LiveOrder>()
  const books: (readonly [SideLevels, SideLevels])[] = []

  const bookOf = (locate: number): readonly [SideLevels, SideLevels] => {
    let book = books[locate]
    if (book === undefined) {
      book = [
        { levels: new Map(), best: 0 },
        { levels: new Map(), best: 0 },
      ]
      books[locate] = book
    }
    return book
  }

  const better = (side: Side, a: number, b: number): boolean => (side === BUY ? a > b : a < b)

  const addLevel = (levels: SideLevels, side: Side, price: number, shares: number): void => {
    levels.levels.set(price, (levels.levels.get(price) ?? 0) + shares)
    if (levels.best === 0 || better(side, price, levels.best)) levels.best = price
  }

  const takeLevel = (levels: SideLevels, side: Side, price: number, shares: number): void => {
    const left = (levels.levels.get(price) ?? 0) - shares
    if (left > 0) {
      levels.levels.set(price, left)
      return
    }
    levels.levels.delete(price)
    if (price !== levels.best) return
    let best = 0
    for (const level of levels.levels.keys()) {
      if (best === 0 || better(side, level, best)) best = level
    }
    levels.best = best
  }

  const remove = (ref: number): LiveOrder | undefined => {
    const order = orders.get(ref)
    if (order === undefined) return undefined
    orders.delete(ref)
    if (order.shares > 0) {
      takeLevel(bookOf(order.locate)[order.side], order.side, order.price, order.shares)
    }
    return order
  }

  return {
    get orders() {
      return orders.size
    },
    add(ref, locate, side, price, shares) {
      // A reused reference number replaces the old order rather than leaving it in the book.
      if (orders.has(ref)) remove(ref)
      orders.set(ref, { locate, side, price, shares })
      addLevel(bookOf(locate)[side], side, price, shares)
    },
    get: (ref) => orders.get(ref),
    reduce(ref, shares) {
      const order = orders.get(ref)
      if (order === undefined) return undefined
      const taken = Math.min(shares, order.shares)
      takeLevel(bookOf(order.locate)[order.side], order.side, order.price, taken)
      order.shares -= taken
      if (order.shares === 0) orders.delete(ref)
      return order
    },
    remove,
    top(locate, out) {
      const [bids, asks] = bookOf(locate)
      out.bid = bids.best
      out.bidSize = bids.best === 0 ? 0 : (bids.levels.get(bids.best) ?? 0)
      out.ask = asks.best
      out.askSize = asks.best === 0 ? 0 : (asks.levels.get(asks.best) ?? 0)
    },
  }
}
