import { describe, expect, test } from 'vitest'
import { dateFromName, newYorkMidnight } from '../../../src/market/tapes/reader-kit.js'

describe('tape clock and names', () => {
  test('New York midnight: 05:00 UTC in winter, 04:00 UTC in summer, either side of a DST change', () => {
    const cases: [number, string, number][] = [
      [Date.UTC(2024, 0, 15, 14, 30), '2024-01-15', Date.UTC(2024, 0, 15, 5)],
      [Date.UTC(2024, 6, 1, 13, 30), '2024-07-01', Date.UTC(2024, 6, 1, 4)],
      // 2024-03-10: clocks go forward at 02:00, after midnight, which is still on EST.
      [Date.UTC(2024, 2, 10, 12), '2024-03-10', Date.UTC(2024, 2, 10, 5)],
      // 2024-11-03: back at 02:00; midnight was still EDT.
      [Date.UTC(2024, 10, 3, 12), '2024-11-03', Date.UTC(2024, 10, 3, 4)],
      // 01:00 UTC is the evening before in New York.
      [Date.UTC(2024, 0, 16, 1), '2024-01-15', Date.UTC(2024, 0, 15, 5)],
    ]
    for (const [instant, date, midnight] of cases) {
      expect(newYorkMidnight(instant)).toEqual({ date, epochMs: midnight })
    }
  })

  test('the trading day from a file name', () => {
    expect(dateFromName('01302019.NASDAQ_ITCH50.gz')).toBe('2019-01-30')
    expect(dateFromName('S071321-v50.txt')).toBeUndefined()
    expect(dateFromName('xnas-itch-20240328.mbp-1.dbn.zst')).toBe('2024-03-28')
    expect(dateFromName('AAPL_2012-06-21_34200000_57600000_message_1.csv')).toBe('2012-06-21')
  })
})
