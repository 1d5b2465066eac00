/**
 * The order book ITCH 5.0 asks its reader to keep (TotalView-ITCH 5.0 §1: "the order book is built
 * from the add, execute, cancel, delete and replace messages"): every live order by reference
 * number, and per stock the shares at each price level. Only the top of book leaves this file.
 *
 * Levels are a Map per side with the best price cached; when the best level empties, the next best
 * is found by a scan of that side's levels. That scan is O(levels), paid only when the touch is
 * consumed, and a stock rarely shows more than a few hundred levels; a sorted structure would make
 * every add pay instead.
 *
 * Live orders are what grows (a full day holds millions at once), so they are not objects in a Map
 * (about 110 bytes each: the entry, a heap number for a reference above 2^31, an object of four
 * fields) but slots of parallel typed arrays, an open-addressing table with linear probing: 19
 * bytes a slot, at most 3/4 full, so 25 to 51 bytes an order, and nothing for the collector to
 * trace.
 */

const BUY = 0
const SELL = 1
export type Side = typeof BUY | typeof SELL

/** An order as the book hands it out: copied into the caller's object, never kept by reference. */
export interface LiveOrder {
  locate: number
  side: Side
  price: number
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
  /** Slots in the order table (for tests and memory figures): a power of two. */
  readonly capacity: number
  add(ref: number, locate: number, side: Side, price: number, shares: number): void
  /** Copies the live order `ref` into `out`; false when there is none. */
  find(ref: number, out: LiveOrder): boolean
  /** Takes `shares` off an order (execution or partial cancel), removing it at zero: its stock's
   * locate, or -1 when there is no such order. */
  reduce(ref: number, shares: number): number
  /** Removes an order, copying it into `out` first when given: its locate, or -1 if none. */
  remove(ref: number, out?: LiveOrder): number
  /** Writes the stock's top of book into `out`. */
  top(locate: number, out: Top): void
}

export function sideOf(indicator: number): Side | undefined {
  if (indicator === 0x42) return BUY // 'B'
  if (indicator === 0x53) return SELL // 'S'
  return undefined
}

/** An empty slot: order references are never negative. */
const EMPTY = -1
const INITIAL_CAPACITY = 1 << 12
const TWO_32 = 0x1_0000_0000

/**
 * Live orders by reference number (below 2^53, as the reader reads them). Probing is linear;
 * a removal shifts the rest of its run back (no tombstones), so lookups never slow down with
 * churn, which an ITCH day is mostly made of.
 */
function createOrderTable() {
  let bits = 12
  let mask = INITIAL_CAPACITY - 1
  let refs = new Float64Array(INITIAL_CAPACITY).fill(EMPTY)
  let locates = new Uint16Array(INITIAL_CAPACITY)
  let sides = new Uint8Array(INITIAL_CAPACITY)
  let prices = new Uint32Array(INITIAL_CAPACITY)
  let shares = new Uint32Array(INITIAL_CAPACITY)
  let size = 0

  /** Fibonacci hashing of both halves: references are mostly consecutive, which it spreads. */
  const home = (ref: number): number => {
    const lo = ref >>> 0
    const hi = Math.floor(ref / TWO_32) >>> 0
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits)
  }

  const slotOf = (ref: number): number => {
    let slot = home(ref)
    for (;;) {
      const at = refs[slot]!
      if (at === ref) return slot
      if (at === EMPTY) return -1
      slot = (slot + 1) & mask
    }
  }

  const put = (ref: number, locate: number, side: number, price: number, count: number): void => {
    let slot = home(ref)
    while (refs[slot] !== EMPTY) slot = (slot + 1) & mask
    refs[slot] = ref
    locates[slot] = locate
    sides[slot] = side
    prices[slot] = price
    shares[slot] = count
    size++
  }

  const grow = (): void => {
    const old = { refs, locates, sides, prices, shares }
    bits++
    const capacity = 1 << bits
    mask = capacity - 1
    refs = new Float64Array(capacity).fill(EMPTY)
    locates = new Uint16Array(capacity)
    sides = new Uint8Array(capacity)
    prices = new Uint32Array(capacity)
    shares = new Uint32Array(capacity)
    size = 0
    for (let i = 0; i < old.refs.length; i++) {
      const ref = old.refs[i]!
      if (ref !== EMPTY) put(ref, old.locates[i]!, old.sides[i]!, old.prices[i]!, old.shares[i]!)
    }
  }

  /** Empties `slot`, moving back each later order of the run that may not be skipped over. */
  const vacate = (slot: number): void => {
    size--
    let hole = slot
    let next = (slot + 1) & mask
    while (refs[next] !== EMPTY) {
      const want = home(refs[next]!)
      // The order at `next` may fill the hole unless its home lies cyclically in (hole, next].
      if (((next - want) & mask) >= ((next - hole) & mask)) {
        refs[hole] = refs[next]!
        locates[hole] = locates[next]!
        sides[hole] = sides[next]!
        prices[hole] = prices[next]!
        shares[hole] = shares[next]!
        hole = next
      }
      next = (next + 1) & mask
    }
    refs[hole] = EMPTY
  }

  return {
    get size() {
      return size
    },
    get capacity() {
      return mask + 1
    },
    slotOf,
    insert(ref: number, locate: number, side: number, price: number, count: number): void {
      if ((size + 1) * 4 > (mask + 1) * 3) grow()
      put(ref, locate, side, price, count)
    },
    vacate,
    copy(slot: number, out: LiveOrder): void {
      out.locate = locates[slot]!
      out.side = sides[slot]! as Side
      out.price = prices[slot]!
      out.shares = shares[slot]!
    },
    locate: (slot: number): number => locates[slot]!,
    side: (slot: number): Side => sides[slot]! as Side,
    price: (slot: number): number => prices[slot]!,
    shares: (slot: number): number => shares[slot]!,
    setShares(slot: number, count: number): void {
      shares[slot] = count
    },
  }
}

export function createItchBook(): ItchBook {
  const orders = createOrderTable()
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

  const remove = (ref: number, out?: LiveOrder): number => {
    const slot = orders.slotOf(ref)
    if (slot < 0) return -1
    if (out !== undefined) orders.copy(slot, out)
    const locate = orders.locate(slot)
    const side = orders.side(slot)
    const shares = orders.shares(slot)
    if (shares > 0) takeLevel(bookOf(locate)[side], side, orders.price(slot), shares)
    orders.vacate(slot)
    return locate
  }

  return {
    get orders() {
      return orders.size
    },
    get capacity() {
      return orders.capacity
    },
    add(ref, locate, side, price, shares) {
      // A reused reference number replaces the old order rather than leaving it in the book.
      if (orders.slotOf(ref) >= 0) remove(ref)
      orders.insert(ref, locate, side, price, shares)
      addLevel(bookOf(locate)[side], side, price, shares)
    },
    find(ref, out) {
      const slot = orders.slotOf(ref)
      if (slot < 0) return false
      orders.copy(slot, out)
      return true
    },
    reduce(ref, shares) {
      const slot = orders.slotOf(ref)
      if (slot < 0) return -1
      const locate = orders.locate(slot)
      const side = orders.side(slot)
      const taken = Math.min(shares, orders.shares(slot))
      takeLevel(bookOf(locate)[side], side, orders.price(slot), taken)
      const left = orders.shares(slot) - taken
      if (left === 0) orders.vacate(slot)
      else orders.setShares(slot, left)
      return locate
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
