import { describe, expect, test } from 'vitest'
import {
  changeParts,
  formatLatencyUs,
  formatPrice,
  priceParts,
  tickDecimals,
} from '../../src/web/format.js'

/** The page's price formats: an instrument's tick decides the decimals, never the price. */
describe('price formats', () => {
  test('a tick size gives the decimals', () => {
    expect(tickDecimals(0.01)).toBe(2)
    expect(tickDecimals(0.0001)).toBe(4)
    expect(tickDecimals(Number.NaN)).toBe(2)
  })

  test('quotes on the penny grid show two decimals; a half-penny print keeps its third apart', () => {
    expect(priceParts(41.8, 0.01)).toEqual({ grid: '41.80', subTick: '' })
    expect(priceParts(189.125, 0.01)).toEqual({ grid: '189.12', subTick: '5' })
    expect(formatPrice(189.125, 0.01)).toBe('189.125')
    // Below $1 the grid is $0.0001: four decimals, always.
    expect(priceParts(0.4, 0.0001)).toEqual({ grid: '0.4000', subTick: '' })
    expect(priceParts(Number.NaN, 0.01)).toEqual({ grid: '—', subTick: '' })
  })

  test('a change has its price’s decimals, its sign, and no "−0.00"', () => {
    expect(changeParts(41.835 - 41.82, 0.01)).toEqual({ grid: '+0.01', subTick: '5' })
    expect(changeParts(-0.2, 0.01)).toEqual({ grid: '−0.20', subTick: '' })
    expect(changeParts(-0.00001, 0.01)).toEqual({ grid: '0.00', subTick: '' })
  })

  test('a latency keeps its unit on its line', () => {
    expect(formatLatencyUs(8300)).toBe('8.30\u00a0ms')
    expect(formatLatencyUs(1_204_000)).toBe('1,204\u00a0ms')
  })
})
