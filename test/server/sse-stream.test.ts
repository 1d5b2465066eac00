import { EventSource } from 'eventsource'
import { describe, expect, test } from 'vitest'
import { startServer } from '../helpers/server.js'
import { openSse, payload } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

interface TickPayload {
  ts: number
  sym: string
  q: number
}

interface SnapshotPayload {
  seq: number
  reset: boolean
  quotes: { sym: string; q: number; bp: number; ap: number }[]
}

/**
 * Checks a stream as a careful subscriber would: global ids strictly increasing, and per symbol the
 * market's own sequence `q` going up by exactly one (so a lost or repeated event is caught even on
 * a filtered stream, whose global ids are not contiguous). A snapshot resets the per-symbol state.
 */
function checkContinuity(events: { type: string; data: string; lastEventId: string }[]) {
  const lastQ = new Map<string, number>()
  let lastId = 0
  const problems: string[] = []
  for (const event of events) {
    const id = Number(event.lastEventId)
    if (event.type === 'snapshot') {
      const snapshot = payload<SnapshotPayload>(event)
      for (const quote of snapshot.quotes) lastQ.set(quote.sym, quote.q)
      if (id < lastId) problems.push(`snapshot id ${id} went back from ${lastId}`)
      lastId = id
      continue
    }
    if (id <= lastId) problems.push(`id ${id} after ${lastId}`)
    lastId = id
    const tick = payload<TickPayload>(event)
    const previous = lastQ.get(tick.sym)
    if (previous !== undefined && tick.q !== previous + 1) {
      problems.push(`${tick.sym} q ${tick.q} after ${previous} (id ${id})`)
    }
    lastQ.set(tick.sym, tick.q)
  }
  return problems
}

describe('GET /v1/stream', () => {
  test('answers 200 text/event-stream with proxy-safe headers and flushes retry: and a comment at once', async () => {
    const server = await startServer({ retryMs: 1500 })
    const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(stream.headers.get('cache-control')).toBe('no-store, no-transform')
    expect(stream.headers.get('x-accel-buffering')).toBe('no')
    await waitFor('the preamble', () => stream.retries.length > 0 && stream.comments.length > 0)
    expect(stream.retries[0]).toBe(1500)
    expect(stream.comments[0]).toMatch(/^connected seq=\d+$/)
    stream.close()
  })

  test('the eventsource package receives only the subscribed symbols, in order, each with its scheduled time', async () => {
    const server = await startServer({ preset: 'normal', ratePerSec: 4000 })
    const source = new EventSource(`${server.url}/v1/stream?symbols=AAPL,MSFT`)
    const events: { type: string; data: string; lastEventId: string }[] = []
    for (const type of ['quote', 'trade', 'snapshot', 'status']) {
      source.addEventListener(type, (event) =>
        events.push({ type, data: event.data, lastEventId: event.lastEventId }),
      )
    }
    await waitFor('20 ticks of AAPL or MSFT', () => events.length >= 21, {
      state: () => events.length,
    })
    source.close()
    expect(events[0]!.type).toBe('snapshot')
    const snapshot = payload<SnapshotPayload>(events[0]!)
    expect(snapshot.reset).toBe(false)
    expect(snapshot.quotes.map((quote) => quote.sym)).toEqual(['AAPL', 'MSFT'])
    const symbols = new Set(events.slice(1).map((event) => payload<TickPayload>(event).sym))
    expect([...symbols].every((symbol) => symbol === 'AAPL' || symbol === 'MSFT')).toBe(true)
    expect(checkContinuity(events)).toEqual([])
    const now = (performance.timeOrigin + performance.now()) * 1000
    for (const event of events.slice(1)) {
      const { ts } = payload<TickPayload>(event)
      expect(ts).toBeLessThanOrEqual(now)
      expect(ts).toBeGreaterThan(now - 60_000_000)
    }
  })

  test('eventsource reconnects after the server cuts it and resumes with Last-Event-ID: no gap, no duplicate', async () => {
    const server = await startServer({ preset: 'normal', ratePerSec: 4000, retryMs: 30 })
    const source = new EventSource(`${server.url}/v1/stream?symbols=AAPL,MSFT,NVDA`)
    const events: { type: string; data: string; lastEventId: string }[] = []
    let opens = 0
    source.addEventListener('open', () => opens++)
    for (const type of ['quote', 'trade', 'snapshot', 'status']) {
      source.addEventListener(type, (event) =>
        events.push({ type, data: event.data, lastEventId: event.lastEventId }),
      )
    }
    await waitFor('first ticks', () => events.length >= 10)
    for (let cut = 1; cut <= 3; cut++) {
      const before = events.length
      const replayHitsBefore = server.stats().sse.replayHits
      expect(await server.dropStreams()).toBe(1)
      await waitFor(`reconnect #${cut}`, () => opens === cut + 1)
      await waitFor('ticks after the reconnect', () => events.length >= before + 10)
      expect(server.stats().sse.replayHits).toBe(replayHitsBefore + 1)
    }
    source.close()
    // One snapshot at the very start; every resume was served from the ring.
    expect(events.filter((event) => event.type === 'snapshot')).toHaveLength(1)
    expect(server.stats().sse.replayMisses).toBe(0)
    expect(checkContinuity(events)).toEqual([])
  })

  test('a resume id replays exactly the events after it, then continues live, matching an observer stream', async () => {
    const server = await startServer({ preset: 'normal', ratePerSec: 3000 })
    const observer = await openSse(`${server.url}/v1/stream?snapshot=false`)
    await waitFor('observer events', () => observer.events.length >= 200)
    const resumeFrom = Number(observer.events[50]!.lastEventId)
    const resumed = await openSse(`${server.url}/v1/stream`, {
      headers: { 'last-event-id': String(resumeFrom) },
    })
    const target = () => Number(observer.events.at(-1)!.lastEventId) + 0
    const mark = target()
    // Past the seam: the resumed stream must also carry events published after it connected.
    await waitFor('the resumed stream to pass live events', () => {
      const last = resumed.events.at(-1)
      return last !== undefined && Number(last.lastEventId) > mark + 100
    })
    const upTo = Number(resumed.events.at(-1)!.lastEventId)
    await waitFor(
      'the observer to reach the same id',
      () => Number(observer.events.at(-1)!.lastEventId) >= upTo,
    )
    observer.close()
    resumed.close()
    const expected = observer.events
      .filter(
        (event) => Number(event.lastEventId) > resumeFrom && Number(event.lastEventId) <= upTo,
      )
      .map((event) => event.lastEventId)
    expect(resumed.events.map((event) => event.lastEventId)).toEqual(expected)
    expect(resumed.events.map((event) => event.data)).toEqual(
      observer.events
        .filter(
          (event) => Number(event.lastEventId) > resumeFrom && Number(event.lastEventId) <= upTo,
        )
        .map((event) => event.data),
    )
  })

  test('the lastEventId query parameter resumes like the header, and the header wins over it', async () => {
    const server = await startServer({ ratePerSec: 3000 })
    const observer = await openSse(`${server.url}/v1/stream?snapshot=false`)
    await waitFor('observer events', () => observer.events.length >= 100)
    const a = Number(observer.events[20]!.lastEventId)
    const b = Number(observer.events[60]!.lastEventId)
    const byQuery = await openSse(`${server.url}/v1/stream?lastEventId=${a}`)
    const both = await openSse(`${server.url}/v1/stream?lastEventId=${a}`, {
      headers: { 'last-event-id': String(b) },
    })
    await waitFor('both resumed', () => byQuery.events.length > 0 && both.events.length > 0)
    observer.close()
    byQuery.close()
    both.close()
    expect(byQuery.events[0]!.lastEventId).toBe(observer.events[21]!.lastEventId)
    expect(both.events[0]!.lastEventId).toBe(observer.events[61]!.lastEventId)
  })

  test('an id older than the ring, from the future, or malformed gets a reset snapshot, then live events', async () => {
    const server = await startServer({ ratePerSec: 5000, historyEvents: 50 })
    await waitFor('the ring to wrap', () => server.feed.history.firstSeq > 100)
    for (const id of ['1', '999999999', 'not-a-number', '12abc']) {
      const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL,MSFT,NVDA,AMZN`, {
        headers: { 'last-event-id': id },
      })
      await waitFor(`a snapshot and a live event for id ${id}`, () => stream.events.length >= 2)
      stream.close()
      const [first, second] = stream.events
      expect(first!.type).toBe('snapshot')
      const snapshot = payload<SnapshotPayload>(first!)
      expect(snapshot.reset).toBe(true)
      expect(first!.lastEventId).toBe(String(snapshot.seq))
      expect(snapshot.quotes.map((quote) => quote.sym)).toEqual(['AAPL', 'MSFT', 'NVDA', 'AMZN'])
      expect(Number(second!.lastEventId)).toBeGreaterThan(snapshot.seq)
      expect(checkContinuity(stream.events)).toEqual([])
    }
    expect(server.stats().sse.replayMisses).toBe(4)
  })

  test('heartbeat comments arrive on the shared timer', async () => {
    const server = await startServer({ preset: 'quiet', heartbeatMs: 100 })
    const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL`)
    await waitFor('three heartbeats', () => stream.comments.filter((c) => c === 'hb').length >= 3)
    stream.close()
  })
})

describe('POST /v1/stream', () => {
  test('fetch opens a stream subscribed by a JSON body', async () => {
    const server = await startServer({ ratePerSec: 4000 })
    const stream = await openSse(`${server.url}/v1/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbols: ['tsla', 'NVDA'] }),
    })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    await waitFor('ticks', () => stream.events.length >= 10)
    stream.close()
    const [snapshot, ...ticks] = stream.events
    expect(payload<SnapshotPayload>(snapshot!).quotes.map((quote) => quote.sym)).toEqual([
      'NVDA',
      'TSLA',
    ])
    for (const tick of ticks) expect(['TSLA', 'NVDA']).toContain(payload<TickPayload>(tick).sym)
    expect(checkContinuity(stream.events)).toEqual([])
  })

  test('a POST body can carry lastEventId', async () => {
    const server = await startServer({ ratePerSec: 3000 })
    const observer = await openSse(`${server.url}/v1/stream?snapshot=false`)
    await waitFor('observer events', () => observer.events.length >= 50)
    const from = observer.events[10]!.lastEventId
    const stream = await openSse(`${server.url}/v1/stream`, {
      method: 'POST',
      body: JSON.stringify({ symbols: '*', lastEventId: from }),
    })
    await waitFor('resumed events', () => stream.events.length >= 1)
    observer.close()
    stream.close()
    expect(stream.events[0]!.lastEventId).toBe(observer.events[11]!.lastEventId)
  })
})

describe('shutdown', () => {
  test('close() ends every stream with a jittered retry: inside the configured range', async () => {
    const server = await startServer({ drainRetryMinMs: 5000, drainRetryMaxMs: 9000 })
    const streams = await Promise.all(
      [0, 1, 2].map(() => openSse(`${server.url}/v1/stream?symbols=AAPL`)),
    )
    await waitFor('all connected', () => server.stats().sse.connections === 3)
    await server.close()
    await Promise.all(streams.map((stream) => stream.ended))
    for (const stream of streams) {
      const drainRetry = stream.retries.at(-1)!
      expect(stream.retries).toHaveLength(2)
      expect(drainRetry).toBeGreaterThanOrEqual(5000)
      expect(drainRetry).toBeLessThanOrEqual(9000)
    }
  })
})
