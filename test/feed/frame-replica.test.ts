import { afterEach, describe, expect, test } from 'vitest'
import type { TickFrame } from '../../src/feed/event-log.js'
import { createFeed } from '../../src/feed/feed.js'
import type { FeedFrame } from '../../src/feed/feed-event.js'
import { createFrameReplica, mergeTickFrames } from '../../src/feed/frame-replica.js'
import { createMarket } from '../../src/market/market.js'
import { type ServerApp, startApp } from '../../src/server/app.js'
import { urlOf } from '../../src/server/listen.js'
import { resolveServerOptions } from '../../src/server/server-options.js'
import { CONNECT, type TransportName } from '../helpers/transport-clients.js'
import { waitFor } from '../helpers/wait.js'

const MARKET = { preset: 'normal', seed: 3, ratePerSec: 2000 } as const
const LOG = { historyEvents: 10_000, historyBytes: 16 * 1024 * 1024 }

/** `count` consecutive frames of the market, 5 ms apart, as a cluster's main thread posts them. */
function framesOf(count: number): TickFrame[] {
  let nowUs = 1_764_000_000_000_000
  const feed = createFeed({ market: createMarket(MARKET), clock: () => nowUs })
  const frames: TickFrame[] = []
  feed.onTickFrame((frame) => frames.push(frame))
  feed.start()
  feed.stop()
  while (frames.length < count) {
    nowUs += 5000
    feed.runFrame(nowUs, nowUs)
  }
  return frames
}

/** A copy that has taken `taken` frames; the rest are queued, as on a worker's port. */
function lagging(taken: number, total = 40) {
  const frames = framesOf(total)
  const queue = frames.slice(taken)
  const published: number[] = []
  const replica = createFrameReplica(
    createMarket(MARKET),
    LOG,
    { headSeq: 0 },
    () => ({ kind: 'test' }),
    (seq) => {
      while (replica.headSeq < seq && queue.length > 0) replica.append(queue.shift()!)
    },
  )
  replica.onFrame((frame: FeedFrame) => published.push(...frame.events.map((e) => e.seq)))
  for (const frame of frames.slice(0, taken)) replica.append(frame)
  return { replica, frames, queue, published }
}

const servers: ServerApp[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('createFrameReplica', () => {
  test('a resume id past the head takes the queued frames first (published in order); one past them all is unknown', () => {
    const { replica, frames, queue, published } = lagging(10)
    const head = replica.headSeq
    const ahead = frames[14]!.firstSeq
    expect(replica.history.covers(ahead)).toBe(true)
    expect(replica.headSeq).toBe(ahead + frames[14]!.ticks.length - 1)
    expect(published).toEqual(Array.from({ length: replica.headSeq }, (_, i) => i + 1))
    expect(queue).toHaveLength(40 - 15)
    expect(replica.history.covers(head)).toBe(true)
    const last = frames.at(-1)!
    expect(replica.history.covers(last.firstSeq + last.ticks.length + 5)).toBe(false)
    expect(queue).toHaveLength(0)
  })

  test('frames merged after a stall give the same events, bytes and latest values as one by one', () => {
    const frames = framesOf(12)
    const single = lagging(12, 12).replica
    const merged = createFrameReplica(createMarket(MARKET), LOG, { headSeq: 0 }, () => ({}))
    merged.append(mergeTickFrames(frames.slice(0, 5)))
    merged.append(frames[5]!)
    merged.append(mergeTickFrames(frames.slice(6)))
    expect(merged.headSeq).toBe(single.headSeq)
    for (let seq = 1; seq <= single.headSeq; seq++) {
      expect(merged.history.get(seq)!.sse).toEqual(single.history.get(seq)!.sse)
    }
    for (let symbol = 0; symbol < single.symbols.length; symbol++) {
      expect(merged.state(symbol)).toEqual(single.state(symbol))
    }
    expect(() => mergeTickFrames([frames[0]!, frames[2]!])).toThrow(/does not follow/)
  })

  test.each(['sse', 'longpoll', 'ws'] as TransportName[])(
    '%s: a client resuming from an id another copy served gets the events after it, no reset, no repeat',
    async (transport) => {
      const copy = lagging(10)
      // The app on the copy, as a cluster's worker runs it.
      const options = resolveServerOptions({ host: '127.0.0.1', port: 0, ...MARKET, ...LOG })
      const app = await startApp({ options, market: createMarket(MARKET), source: copy.replica })
      servers.push(app)
      const server = { url: urlOf(options.host, app.port) }
      // The id of the last event of frame 20: this copy has taken 10 frames.
      const frame20 = copy.frames[19]!
      const resumeId = frame20.firstSeq + frame20.ticks.length - 1
      expect(copy.replica.headSeq).toBeLessThan(resumeId)
      const client = await CONNECT[transport](server.url, { lastEventId: String(resumeId) })
      await waitFor('the resume to be served', () => copy.replica.headSeq >= resumeId)
      // Live frames after it reach the client, starting right after the resume id.
      for (const frame of copy.queue.splice(0, 5)) copy.replica.append(frame)
      const head = copy.replica.headSeq
      await waitFor(`events up to ${head}`, () => client.events().at(-1)?.id === String(head), {
        state: () => client.events().map((event) => event.id),
      })
      client.close()
      const events = client.events()
      expect(events.some((event) => event.type === 'snapshot')).toBe(false)
      expect(events.map((event) => Number(event.id))).toEqual(
        Array.from({ length: head - resumeId }, (_, i) => resumeId + 1 + i),
      )
    },
  )
})
