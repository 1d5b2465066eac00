import { describe, expect, test } from 'vitest'
import type { TickFrame } from '../../../src/feed/event-log.js'
import { createFeed } from '../../../src/feed/feed.js'
import { openTape } from '../../../src/market/tapes/open-tape.js'
import { openTapeMarket, TAPE_ENDED_REASON } from '../../../src/market/tapes/tape-market.js'
import type { Tick } from '../../../src/market/types.js'
import { waitFor } from '../../helpers/wait.js'
import { dbnTape, expected, OPEN_NS } from './replay-tapes.js'
import { readAll, rejection, tapeDir, writeTape } from './tape-files.js'

const OPEN_US = OPEN_NS / 1000

/** The JSON-free shape `expected` gives, from ticks: symbol name, q and the kind's fields. */
function shape(ticks: readonly Tick[], names: readonly string[]): Record<string, unknown>[] {
  return ticks.map((tick) => {
    const head = { sym: names[tick.symbol]!, q: tick.seq }
    if (tick.kind === 'quote') {
      return { ...head, bp: tick.bid / 1e4, bs: tick.bidSize, ap: tick.ask / 1e4, as: tick.askSize }
    }
    if (tick.kind === 'trade')
      return { ...head, p: tick.price / 1e4, s: tick.size, c: [...tick.conditions] }
    return { ...head, status: tick.status, reason: tick.reason }
  })
}

describe('a tape behind the Market interface', () => {
  test('a tiny read-ahead: the clock never passes an event not yet read, and nothing is lost', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const market = await openTapeMarket({ path, readAheadEvents: 4, chunkBytes: 100 })
    const names = market.instruments.map((instrument) => instrument.symbol)
    expect(names).toEqual(['AAPL', 'MSFT'])
    expect(market.startSimTimeUs).toBe(OPEN_US)
    const ticks: Tick[] = []
    // One call asking for the whole tape gets only what is read ahead, and the clock stops there.
    market.advanceTo(OPEN_US + 10e6, ticks)
    expect(ticks.length).toBeGreaterThan(0)
    expect(ticks.length).toBeLessThan(20)
    expect(market.simTimeUs).toBe(ticks.at(-1)!.simTimeUs)
    await waitFor('the whole tape', () => {
      market.advanceTo(OPEN_US + 10e6, ticks)
      return market.ended
    })
    expect(market.simTimeUs).toBe(OPEN_US + 10e6)
    expect(shape(ticks, names)).toEqual(expected(await tapeEvents(path), names))
    expect(ticks.slice(-2).map((tick) => tick.kind === 'status' && tick.reason)).toEqual([
      TAPE_ENDED_REASON,
      TAPE_ENDED_REASON,
    ])
    await market.close()
  })

  test('the feed schedules each tick at its tape time / speed from the start, as for the model', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const market = await openTapeMarket({ path })
    let nowUs = 1_000_000_000
    const feed = createFeed({ market, clock: () => nowUs }, { speed: 2, frameMs: 5 })
    const frames: TickFrame[] = []
    feed.onTickFrame((frame) => frames.push(frame))
    feed.start()
    feed.stop()
    for (let i = 1; i <= 400; i++) {
      nowUs += 5000
      feed.runFrame(nowUs, nowUs)
    }
    const scheduled = frames.flatMap((frame) => frame.scheduledUs)
    const ticks = frames.flatMap((frame) => frame.ticks)
    expect(market.ended).toBe(true)
    ticks.forEach((tick, i) => {
      expect(scheduled[i]).toBe(1_000_000_000 + Math.round((tick.simTimeUs - OPEN_US) / 2))
    })
    expect(frames.map((frame) => frame.firstSeq)).toEqual(
      frames.map((_, i) => 1 + frames.slice(0, i).reduce((n, frame) => n + frame.ticks.length, 0)),
    )
    await feed.close()
    await market.close()
  })

  test('--tape-start skips earlier records; a start after the last event is no replay', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const market = await openTapeMarket({ path, startNs: OPEN_NS + 500e6 })
    expect(market.startSimTimeUs).toBe(OPEN_US + 500_000)
    const ticks: Tick[] = []
    market.advanceTo(OPEN_US + 10e6, ticks)
    expect(ticks[0]!.simTimeUs).toBeGreaterThanOrEqual(OPEN_US + 500_000)
    expect(ticks[0]!.seq).toBe(1)
    await market.close()
    const none = await rejection(openTapeMarket({ path, startNs: OPEN_NS + 3600e9 }))
    expect(none).toMatchObject({ code: 'TS_ERR_INVALID_TAPE' })
  })
})

async function tapeEvents(path: string) {
  return (await readAll(await openTape(path))).events
}
