import { describe, expect, test } from 'vitest'
import {
  createInstruments,
  FAMILIAR_TICKERS,
  roundLotFor,
  tickFor,
} from '../../src/market/instruments.js'
import { PRICE_SCALE } from '../../src/market/types.js'

describe('universe', () => {
  const universe = createInstruments(42, 8000)

  test('AAPL is index 0 at any size', () => {
    expect(createInstruments(1, 1).map((i) => i.symbol)).toEqual(['AAPL'])
    expect(universe[0]?.symbol).toBe('AAPL')
  })

  test('the most active names are familiar tickers, in order', () => {
    expect(universe.slice(0, 12).map((i) => i.symbol)).toEqual([
      'AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'SPY', 'QQQ', 'AMD', 'NFLX', 'JPM',
    ]) // biome-ignore format: one row
    expect(universe.slice(0, FAMILIAR_TICKERS.length).map((i) => i.symbol)).toEqual(
      FAMILIAR_TICKERS,
    )
    expect(FAMILIAR_TICKERS.length).toBeGreaterThanOrEqual(50)
  })

  test('symbols are unique, ticker-like and indexed by rank', () => {
    expect(new Set(universe.map((i) => i.symbol)).size).toBe(8000)
    expect(universe.filter((i) => !/^[A-Z]{1,5}$/.test(i.symbol))).toEqual([])
    expect(universe.filter((i, index) => i.index !== index)).toEqual([])
  })

  test('growing the universe appends and changes nothing before', () => {
    const small = createInstruments(42, 500)
    expect(createInstruments(42, 501).slice(0, 500)).toEqual(small)
    expect(universe.slice(0, 500)).toEqual(small)
  })

  test('the seed picks the generated names and parameters, not the familiar names', () => {
    const other = createInstruments(43, 500)
    expect(other.slice(0, 60).map((i) => i.symbol)).toEqual(FAMILIAR_TICKERS)
    const differentNames = other.filter((i, k) => i.symbol !== universe[k]!.symbol).length
    expect(differentNames).toBeGreaterThan(400)
    expect(other[0]!.startPrice).not.toBe(universe[0]!.startPrice)
  })

  test('prices: 2% above $1,000, 3% below $5, 1% below $1, the rest $5–$500', () => {
    const generated = universe.slice(FAMILIAR_TICKERS.length)
    const share = (predicate: (dollars: number) => boolean) =>
      generated.filter((i) => predicate(i.startPrice / PRICE_SCALE)).length / generated.length
    expect(share((p) => p > 1000)).toBeCloseTo(0.02, 2)
    expect(share((p) => p < 5)).toBeCloseTo(0.03, 2)
    expect(share((p) => p < 1)).toBeCloseTo(0.01, 2)
    expect(share((p) => (p >= 5 && p <= 500) || p < 5 || p > 1000)).toBe(1)
    const familiar = universe.slice(0, FAMILIAR_TICKERS.length).map((i) => i.startPrice)
    expect(familiar.filter((p) => p < 5 * PRICE_SCALE || p > 500 * PRICE_SCALE)).toEqual([])
    // Log-uniform on $5–$500: the median is about $50.
    const main = generated.map((i) => i.startPrice / PRICE_SCALE).filter((p) => p >= 5 && p <= 500)
    main.sort((a, b) => a - b)
    expect(main[Math.floor(main.length / 2)]).toBeGreaterThan(42)
    expect(main[Math.floor(main.length / 2)]).toBeLessThan(60)
  })

  test('tick, lot, volatility and beta follow the rules', () => {
    const broken = universe.filter(
      (i) =>
        i.tickUnits !== (i.startPrice >= PRICE_SCALE ? 100 : 1) ||
        i.startPrice % i.tickUnits !== 0 ||
        i.startPrice <= 0 ||
        i.lotSize !== roundLotFor(i.startPrice) ||
        !(i.volatility >= 0.2 && i.volatility < 0.6) ||
        !(i.beta >= 0.6 && i.beta < 1.4),
    )
    expect(broken).toEqual([])
    const lots = new Set(universe.map((i) => i.lotSize))
    expect([...lots].sort((a, b) => a - b)).toEqual([1, 10, 40, 100])
  })

  test('rejects sizes outside 1..8000', () => {
    expect(() => createInstruments(1, 0)).toThrow(RangeError)
    expect(() => createInstruments(1, 8001)).toThrow(RangeError)
    expect(() => createInstruments(1, 2.5)).toThrow(RangeError)
  })
})

describe('tick and lot rules', () => {
  test('tick is $0.01 from $1, $0.0001 below', () => {
    expect(tickFor(PRICE_SCALE)).toBe(100)
    expect(tickFor(PRICE_SCALE - 1)).toBe(1)
  })

  test('round lots by price band: 100 / 40 / 10 / 1', () => {
    expect(roundLotFor(250 * PRICE_SCALE)).toBe(100)
    expect(roundLotFor(250 * PRICE_SCALE + 100)).toBe(40)
    expect(roundLotFor(1000 * PRICE_SCALE)).toBe(40)
    expect(roundLotFor(1000 * PRICE_SCALE + 100)).toBe(10)
    expect(roundLotFor(10_000 * PRICE_SCALE)).toBe(10)
    expect(roundLotFor(10_000 * PRICE_SCALE + 100)).toBe(1)
  })
})
