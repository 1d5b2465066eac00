import { describe, expect, test } from 'vitest'
import {
  parseSegment,
  segmentMembers,
  segmentRate,
  segmentShare,
} from '../../src/harness/segment.js'
import { pickWatchLists } from '../../src/harness/watch-lists.js'
import type { Segment } from '../../src/report/result-schema.js'

const split = (count: number): Segment[] =>
  Array.from({ length: count }, (_, i) => ({ index: i + 1, count }))

describe('execution segments', () => {
  test('1000 subscribers over 3 hosts are 334 + 333 + 333', () => {
    expect(split(3).map((segment) => segmentShare(1000, segment))).toEqual([334, 333, 333])
  })

  test('the n shares of any count sum to it exactly, differ by at most one, and grow with it', () => {
    for (let n = 1; n <= 9; n++) {
      for (let total = 0; total <= 250; total++) {
        const shares = split(n).map((segment) => segmentShare(total, segment))
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total)
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1)
        split(n).forEach((segment, i) => {
          expect(segmentShare(total + 1, segment)).toBeGreaterThanOrEqual(shares[i]!)
        })
      }
    }
  })

  test('members partition the subscribers, each share a prefix of its share of more', () => {
    const all = Array.from({ length: 101 }, (_, k) => k)
    for (let n = 1; n <= 7; n++) {
      const parts = split(n).map((segment) => segmentMembers(all, segment))
      expect(parts.flat().sort((a, b) => a - b)).toEqual(all)
      split(n).forEach((segment, i) => {
        expect(parts[i]).toHaveLength(segmentShare(all.length, segment))
        // Nested: the share of the first 60 is the start of the share of all 101.
        const ofFewer = segmentMembers(all.slice(0, 60), segment)
        expect(parts[i]!.slice(0, ofFewer.length)).toEqual(ofFewer)
      })
    }
  })

  test('every host picks the watch-lists the one-host run gives those subscribers', () => {
    const universe = Array.from({ length: 50 }, (_, i) => `S${i}`)
    const spec = { size: 5, pick: 'zipf' as const, seed: 9 }
    const whole = pickWatchLists(universe, 40, spec)
    const hosts = split(3).map((segment) => segmentMembers(whole, segment))
    // Dealt back in turn, the hosts' lists are the one-host lists, in order.
    const dealtBack = whole.map((_, k) => hosts[k % 3]![Math.floor(k / 3)])
    expect(dealtBack).toEqual(whole)
  })

  test('each host takes 1/n of a connect rate', () => {
    expect(split(4).reduce((sum, segment) => sum + segmentRate(500, segment), 0)).toBe(500)
  })

  test('i/n parses; anything else is a usage error that says what is wrong', () => {
    expect(parseSegment('2/3')).toEqual({ index: 2, count: 3 })
    expect(parseSegment(' 1 / 1 ')).toEqual({ index: 1, count: 1 })
    const cases: [string, RegExp][] = [
      ['0/3', /i must be from 1 to n \(3\), got "0\/3"/],
      ['4/3', /i must be from 1 to n \(3\), got "4\/3"/],
      ['1/0', /n must be from 1 to 1000, got "1\/0"/],
      ['x', /not two whole numbers joined by \/, got "x"/],
      ['1.5/3', /not two whole numbers/],
      ['-1/3', /not two whole numbers/],
      ['', /not two whole numbers/],
    ]
    for (const [text, message] of cases) {
      expect(() => parseSegment(text), text).toThrow(message)
      expect(() => parseSegment(text)).toThrow(expect.objectContaining({ code: 'TS_ERR_USAGE' }))
    }
  })
})
