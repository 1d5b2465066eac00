import { describe, expect, test } from 'vitest'
import { createFeed } from '../../src/feed/feed.js'
import type { FeedEvent } from '../../src/feed/feed-event.js'
import { createMarket, resolveMarketOptions } from '../../src/market/market.js'
import { waitFor } from '../helpers/wait.js'

const T0 = 1_764_000_000_000_000 // an epoch µs origin for injected clocks

function drive(speed: number, frameMs: number, wallMs: number) {
  const market = createMarket(resolveMarketOptions({ seed: 9, preset: 'normal' }))
  let now = T0
  const feed = createFeed({ market, clock: () => now }, { speed, frameMs })
  const frames: { deadlineUs: number; events: readonly FeedEvent[] }[] = []
  feed.onFrame((frame) => frames.push(frame))
  feed.start()
  feed.stop() // driven by hand below, not by the timer
  for (let t = frameMs * 1000; t <= wallMs * 1000; t += frameMs * 1000) {
    now = T0 + t
    feed.runFrame(now, now)
  }
  return { feed, frames, events: frames.flatMap((frame) => frame.events) }
}

/** The payload without its wall-clock timestamp: what must not depend on speed. */
const content = (event: FeedEvent) => [
  event.seq,
  event.symbol,
  event.type,
  event.json.replace(/^\{"ts":\d+,/, '{'),
]

describe('feed', () => {
  test('numbers every tick with one strictly increasing sequence, grouped into the frame it is due in', () => {
    const { frames, events, feed } = drive(1, 5, 2000)
    expect(events.length).toBeGreaterThan(1000)
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1))
    let previousDeadline = T0
    for (const frame of frames) {
      for (const event of frame.events) {
        expect(event.scheduledUs).toBeLessThanOrEqual(frame.deadlineUs)
        expect(event.scheduledUs).toBeGreaterThan(previousDeadline - 1)
      }
      previousDeadline = frame.deadlineUs
    }
    expect(feed.headSeq).toBe(events.length)
    expect(feed.history.get(events.length)!.sse).toBe(events.at(-1)!.sse)
    const sse = new TextDecoder().decode(events[0]!.sse)
    expect(sse).toBe(`id: 1\nevent: ${events[0]!.type}\ndata: ${events[0]!.json}\n\n`)
  })

  test('the same seed gives the same events at any speed; only the wall-clock schedule scales', () => {
    const slow = drive(1, 5, 2000)
    const fast = drive(4, 5, 500)
    const slowSim = slow.events.map(content)
    const fastSim = fast.events.map(content)
    const n = Math.min(slowSim.length, fastSim.length)
    expect(n).toBeGreaterThan(1000)
    expect(fastSim.slice(0, n)).toEqual(slowSim.slice(0, n))
    for (let i = 0; i < n; i += 97) {
      const slowOffset = slow.events[i]!.scheduledUs - T0
      const fastOffset = fast.events[i]!.scheduledUs - T0
      expect(Math.abs(slowOffset - 4 * fastOffset)).toBeLessThanOrEqual(4)
    }
  })

  test('keeps the latest value per symbol', () => {
    const { feed, events } = drive(1, 5, 1000)
    const lastQuote = [...events].reverse().find((event) => event.type === 'quote')!
    const state = feed.state(lastQuote.symbol)
    const json = JSON.parse(lastQuote.json)
    expect(state.quote.seq).toBe(json.q)
  })

  test('measures how late each frame ran', () => {
    const market = createMarket(resolveMarketOptions({ seed: 1, preset: 'quiet' }))
    let now = T0
    const feed = createFeed({ market, clock: () => now }, { frameMs: 5 })
    feed.start()
    feed.stop()
    now = T0 + 5000
    feed.runFrame(T0 + 5000, T0 + 5000 + 3000)
    feed.runFrame(T0 + 10_000, T0 + 10_000 + 1000)
    const stats = feed.stats()
    expect(stats.lastLagUs).toBe(1000)
    expect(stats.maxLagUs).toBe(3000)
    expect(stats.meanLagUs).toBe(2000)
    expect(stats.frames).toBe(2)
  })

  test('the pacing loop runs in real time on its own timer and stops', async () => {
    const market = createMarket(resolveMarketOptions({ seed: 3, preset: 'normal' }))
    const feed = createFeed({ market }, { frameMs: 5 })
    let frames = 0
    feed.onFrame(() => frames++)
    feed.start()
    await waitFor('20 frames with events', () => frames >= 20)
    feed.stop()
    expect(feed.running).toBe(false)
    const stats = feed.stats()
    expect(stats.events).toBe(feed.headSeq)
    expect(stats.frames).toBeGreaterThanOrEqual(20)
  })

  test('rejects bad options, all at once', () => {
    const market = createMarket(resolveMarketOptions({ seed: 1 }))
    expect(() => createFeed({ market }, { speed: 0, frameMs: 0.1, historyEvents: -1 })).toThrow(
      /`speed` must be a number from 0\.001 to 10000, got 0[\s\S]*`frameMs`[\s\S]*`historyEvents`/,
    )
  })
})
