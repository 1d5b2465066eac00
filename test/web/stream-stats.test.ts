import { describe, expect, test } from 'vitest'
import type { StreamEvent } from '../../src/web/stream-event.js'
import { createStreamStats } from '../../src/web/stream-stats.js'

/** The page's own bookkeeping, on hand-made events: what the gap counter and figures count. */
const quote = (id: number, sym: string, q: number, ts = 0): StreamEvent => ({
  id: String(id),
  type: 'quote',
  data: { ts, sym, q, bp: 1, bs: 100, ap: 1.01, as: 100 },
})
const snapshot = (id: number, quotes: [string, number][], reset = false): StreamEvent => ({
  id: String(id),
  type: 'snapshot',
  data: {
    ts: 0,
    seq: id,
    reset,
    quotes: quotes.map(([sym, q]) => ({ sym, q, bp: 1, bs: 100, ap: 1.01, as: 100 })),
  },
})

describe('stream stats', () => {
  test('counts gaps from each symbol’s own sequence; a snapshot sets the baseline', () => {
    const stats = createStreamStats()
    stats.observe(
      snapshot(10, [
        ['AAPL', 5],
        ['MSFT', 9],
      ]),
      0,
    )
    stats.observe(quote(11, 'AAPL', 6), 0)
    stats.observe(quote(14, 'MSFT', 10), 0)
    expect(stats.gaps).toBe(0)
    stats.observe(quote(20, 'AAPL', 9), 0) // q 7 and 8 missing
    expect(stats.gaps).toBe(2)
    stats.observe(quote(21, 'AAPL', 9), 0)
    expect(stats.duplicates).toBe(1)
    stats.observe(snapshot(30, [['AAPL', 40]], true), 0)
    stats.observe(quote(31, 'AAPL', 41), 0)
    expect({ gaps: stats.gaps, resets: stats.resets, events: stats.events }).toEqual({
      gaps: 2,
      resets: 1,
      events: 7,
    })
    expect(stats.lastId).toBe('31')
  })

  test('a fresh subscription forgets baselines: a symbol seen before starts again', () => {
    const stats = createStreamStats()
    stats.observe(quote(1, 'AAPL', 1), 0)
    stats.forgetBaselines()
    stats.observe(quote(50, 'AAPL', 30), 0)
    expect(stats.gaps).toBe(0)
  })

  test('latency is receipt − scheduled time; percentiles over the window; rate per second', () => {
    const stats = createStreamStats()
    const startUs = 1_000_000_000_000
    for (let n = 0; n < 100; n++) {
      const receivedUs = startUs + n * 10_000 // one event every 10 ms for a second
      stats.observe(quote(n + 1, 'AAPL', n + 1, receivedUs - (n + 1) * 100), receivedUs)
    }
    const nowMs = (startUs + 1_000_000) / 1000
    const latency = stats.latency(nowMs)
    expect(latency.samples).toBe(100)
    expect(latency.lastUs).toBe(10_000)
    expect(latency.p50Us).toBe(5100)
    expect(latency.p99Us).toBe(10_000)
    expect(stats.ratePerSec(nowMs)).toBe(100)
    expect(stats.latency(nowMs, 100).samples).toBe(10)
  })

  test('after a resume, what the stream replays is its catch-up: counted apart, not latency', () => {
    const stats = createStreamStats()
    const startUs = 1_000_000_000_000
    // Live: 5 ms late each.
    for (let n = 1; n <= 50; n++) {
      stats.observe(quote(n, 'AAPL', n, startUs + n * 10_000 - 5000), startUs + n * 10_000)
    }
    // Dropped after id 50 (0.5 s); the resumed stream opens at 2.5 s and replays ids 51 to 200.
    const openedUs = startUs + 2_500_000
    stats.resumed(openedUs)
    const replayed = []
    for (let n = 51; n <= 200; n++) {
      replayed.push(stats.observe(quote(n, 'AAPL', n, startUs + n * 10_000), openedUs + n))
    }
    expect(replayed.every((result) => result === null)).toBe(true)
    // The first event scheduled after the open is live again: it ends the catch-up, once.
    const live = (n: number) => quote(n, 'AAPL', n, openedUs + n * 1000)
    expect(stats.observe(live(201), openedUs + 201 * 1000 + 5000)).toEqual({
      events: 150,
      maxLatencyUs: openedUs + 51 - (startUs + 510_000),
    })
    expect(stats.observe(live(202), openedUs + 202 * 1000 + 5000)).toBeNull()
    const latency = stats.latency((openedUs + 300_000) / 1000)
    expect(latency).toEqual({ lastUs: 5000, p50Us: 5000, p99Us: 5000, samples: 52 })
    expect(stats.gaps).toBe(0)
  })
})
