import { describe, expect, test } from 'vitest'
import { createItchBook, type LiveOrder, type Side } from '../../../src/market/tapes/itch-book.js'

/** mulberry32: a seeded generator, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Plain {
  locate: number
  side: Side
  price: number
  shares: number
}

/** The book as plain Maps: what the typed table must agree with. */
function plainTop(orders: Map<number, Plain>, locate: number) {
  let bid = 0
  let ask = 0
  const size = new Map<string, number>()
  for (const order of orders.values()) {
    if (order.locate !== locate) continue
    const key = `${order.side}:${order.price}`
    size.set(key, (size.get(key) ?? 0) + order.shares)
    if (order.side === 0 && order.price > bid) bid = order.price
    if (order.side === 1 && (ask === 0 || order.price < ask)) ask = order.price
  }
  return {
    bid,
    bidSize: bid === 0 ? 0 : (size.get(`0:${bid}`) ?? 0),
    ask,
    askSize: ask === 0 ? 0 : (size.get(`1:${ask}`) ?? 0),
  }
}

describe('ITCH book', () => {
  test('agrees with a plain Map through growth and heavy churn: adds, partial and full executions, deletes, reused references', () => {
    const next = random(7)
    const book = createItchBook()
    const plain = new Map<number, Plain>()
    const live: number[] = []
    // References above 2^32, and a run of consecutive ones, as a day's numbering has.
    let ref = 2 ** 33
    const out: LiveOrder = { locate: 0, side: 0, price: 0, shares: 0 }
    for (let step = 0; step < 60_000; step++) {
      const roll = next()
      if (roll < 0.5 || live.length === 0) {
        // Now and then a reference already live: it replaces that order.
        const id = roll < 0.02 && live.length > 0 ? live[Math.floor(next() * live.length)]! : ++ref
        const order: Plain = {
          locate: 1 + Math.floor(next() * 5),
          side: (next() < 0.5 ? 0 : 1) as Side,
          price: 1_000_000 + Math.floor(next() * 40) * 100,
          shares: 1 + Math.floor(next() * 500),
        }
        if (!plain.has(id)) live.push(id)
        plain.set(id, order)
        book.add(id, order.locate, order.side, order.price, order.shares)
      } else {
        const pick = Math.floor(next() * live.length)
        const id = live[pick]!
        const order = plain.get(id)!
        const gone = (): void => {
          plain.delete(id)
          live[pick] = live[live.length - 1]!
          live.pop()
        }
        if (roll < 0.8) {
          const shares = 1 + Math.floor(next() * order.shares * 1.2)
          expect(book.reduce(id, shares)).toBe(order.locate)
          order.shares -= Math.min(shares, order.shares)
          if (order.shares === 0) gone()
        } else {
          expect(book.remove(id, out)).toBe(order.locate)
          expect(out).toEqual(order)
          gone()
        }
      }
      if (step % 997 === 0) {
        expect(book.orders).toBe(plain.size)
        for (let locate = 1; locate <= 5; locate++) {
          const top = { bid: -1, bidSize: -1, ask: -1, askSize: -1 }
          book.top(locate, top)
          expect(top, `step ${step}, stock ${locate}`).toEqual(plainTop(plain, locate))
        }
      }
    }
    // Every live order is found with its fields; gone ones are not.
    for (const [id, order] of plain) {
      expect(book.find(id, out)).toBe(true)
      expect(out).toEqual(order)
    }
    expect(book.find(2 ** 33, out)).toBe(false)
    expect(book.reduce(2 ** 33 - 1, 10)).toBe(-1)
    expect(book.remove(2 ** 33 - 1)).toBe(-1)
    expect(book.capacity).toBeGreaterThanOrEqual((plain.size * 4) / 3)
  })
})
