import { describe, expect, test } from 'vitest'
import { openTape } from '../../../src/market/tapes/open-tape.js'
import {
  createPeakWindow,
  formatTapeInfo,
  formatTapeTime,
  tapeInfo,
} from '../../../src/market/tapes/tape-info.js'
import { itch, itchFile } from './itch-writer.js'
import { dbnHaltTape } from './replay-tapes.js'
import { cutCopy, OPEN_NS, tapeDir, writeTape } from './tape-files.js'

/** The most events in any [t, t + window): every window worth trying starts at an event. */
function bruteForce(times: readonly number[], windowNs: number): number {
  let best = 0
  for (let i = 0; i < times.length; i++) {
    let j = i
    while (j < times.length && times[j]! - times[i]! < windowNs) j++
    best = Math.max(best, j - i)
  }
  return best
}

describe('peak windows', () => {
  test('a burst across a bucket edge counts whole (sliding, not bucketed)', () => {
    const window = createPeakWindow(1_000_000)
    for (const t of [1_600_000, 1_900_000, 2_400_000, 2_700_000, 5_000_000]) window.add(t)
    // [1.6 ms, 2.6 ms) holds three; neither millisecond bucket [1, 2) nor [2, 3) holds more than two.
    expect(window.result()).toEqual({
      windowNs: 1_000_000,
      events: 3,
      perSec: 3000,
      atNs: 1_600_000,
    })
  })

  test('the window is half-open: an event exactly one window later is in the next', () => {
    const window = createPeakWindow(1000)
    for (const t of [0, 1000, 2000]) window.add(t)
    expect(window.result().events).toBe(1)
  })

  test('equals a brute-force count on bursty times, through growth and compaction of its queue', () => {
    let seed = 7
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const times: number[] = []
    let t = 0
    for (let i = 0; i < 6000; i++) {
      // Mostly dense (a few µs apart), now and then a gap of up to half a second.
      t += random() < 0.01 ? Math.floor(random() * 5e8) : Math.floor(random() * 5000)
      times.push(t)
    }
    for (const windowNs of [1e9, 1e6, 1e4]) {
      const window = createPeakWindow(windowNs)
      for (const time of times) window.add(time)
      expect(window.result().events, `window ${windowNs}`).toBe(bruteForce(times, windowNs))
    }
  })
})

describe('tape info', () => {
  function tape(): Uint8Array {
    const messages = [
      itch.stockDirectory(1, OPEN_NS, 'AAPL'),
      itch.stockDirectory(2, OPEN_NS, 'MSFT'),
    ]
    // AAPL: 10 adds at 100 µs steps from 09:30; MSFT: 3 trades a second apart; then a halt.
    for (let i = 0; i < 10; i++) {
      messages.push(itch.addOrder(1, OPEN_NS + i * 100_000, i + 1, 'B', 100, 'AAPL', 1_000_000 + i))
    }
    for (let i = 0; i < 3; i++) {
      messages.push(
        itch.trade(2, OPEN_NS + 1_000_000_000 * (i + 1), 'B', 100, 'MSFT', 4_000_000, i),
      )
    }
    messages.push(itch.tradingAction(2, OPEN_NS + 5_000_000_000, 'MSFT', 'H', 'T1'))
    return itchFile(messages)
  }

  test('counts, symbols, span and exact peaks', async () => {
    const path = writeTape(tapeDir(), 'info.itch', tape())
    const info = await tapeInfo(await openTape(path, { chunkBytes: 16 }), { top: 1 })
    expect(info).toEqual({
      path,
      format: 'itch',
      date: null,
      fileBytes: tape().length,
      records: 16,
      skipped: {},
      events: { total: 14, quotes: 10, trades: 3, statuses: 1 },
      symbolCount: 2,
      topSymbols: [{ symbol: 'AAPL', events: 10, quotes: 10, trades: 0, statuses: 0 }],
      firstNs: OPEN_NS,
      lastNs: OPEN_NS + 5e9,
      spanNs: 5e9,
      meanPerSec: 3,
      // The 10 adds and the first trade at exactly +1 s: not in the same 1-s window.
      peak1s: { windowNs: 1e9, events: 10, perSec: 10, atNs: OPEN_NS },
      peak1ms: { windowNs: 1e6, events: 10, perSec: 10_000, atNs: OPEN_NS },
      outOfOrder: 0,
      truncated: null,
    })
  })

  test('a truncated tape says so and still counts what it read', async () => {
    const dir = tapeDir()
    const whole = tape()
    const path = writeTape(dir, 'info.itch', whole)
    const info = await tapeInfo(await openTape(cutCopy(path, whole.length - 5, `${dir}/cut.itch`)))
    expect(info.truncated).toBe(`byte ${whole.length - 27}: a 25-byte message ends after 20 bytes`)
    expect(info.events).toEqual({ total: 15, quotes: 10, trades: 3, statuses: 2 })
    expect(info.topSymbols.map((s) => [s.symbol, s.events])).toEqual([
      ['AAPL', 11],
      ['MSFT', 4],
    ])
  })

  test('a DBN tape: halts and resumptions counted as status, imbalance records as skipped', async () => {
    const path = writeTape(tapeDir(), 'halts.dbn', dbnHaltTape())
    const info = await tapeInfo(await openTape(path))
    expect(info).toMatchObject({
      format: 'dbn',
      date: '2024-03-28',
      records: 9,
      skipped: { imbalance: 2 },
      events: { total: 6, quotes: 3, trades: 1, statuses: 2 },
      topSymbols: [
        { symbol: 'AAPL', events: 4, quotes: 1, trades: 1, statuses: 2 },
        { symbol: 'MSFT', events: 2, quotes: 2, trades: 0, statuses: 0 },
      ],
    })
    const text = formatTapeInfo(info).split('\n')
    expect(text.slice(2, 5)).toEqual([
      'records    9',
      'skipped    2 imbalance records (not played)',
      'events     6: 3 quotes, 1 trades, 2 status',
    ])
    // A tape with nothing skipped has no such line.
    expect(formatTapeInfo({ ...info, skipped: {} })).not.toMatch(/skipped/)
  })

  test('a span just under two minutes prints as 2m 0.0s, not 1m 60.0s', async () => {
    const path = writeTape(tapeDir(), 'halts.dbn', dbnHaltTape())
    const info = await tapeInfo(await openTape(path))
    const spanLine = (spanNs: number) =>
      formatTapeInfo({ ...info, firstNs: OPEN_NS, lastNs: OPEN_NS + spanNs, spanNs })
        .split('\n')
        .find((line) => line.startsWith('time span'))
    expect(spanLine(119_999_982_000)).toMatch(/\(2m 0\.0s\)/)
    expect(spanLine(3_599_960_000_000)).toMatch(/\(1h 0m 0\.0s\)/)
    expect(spanLine(61_250_000_000)).toMatch(/\(1m 1\.3s\)/)
  })

  test('tape time prints as a clock with microseconds', () => {
    expect(formatTapeTime(OPEN_NS + 1_234_567)).toBe('09:30:00.001234')
    expect(formatTapeTime(57_599_999_999_999)).toBe('15:59:59.999999')
  })
})
