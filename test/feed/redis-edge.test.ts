import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/errors.js'
import type { RedisEdge } from '../../src/feed/redis-edge.js'
import { openRedisFeed, type RedisFeed } from '../../src/feed/redis-publisher.js'
import type { ClusterStats } from '../../src/server/cluster.js'
import { createServer, type TickstormServer } from '../../src/server/server.js'
import type { SseEvent } from '../../src/wire/sse-parser.js'
import { WORKER_URL } from '../helpers/cluster.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { openSse, type SseCollector } from '../helpers/sse-client.js'
import { CONNECT } from '../helpers/transport-clients.js'
import { waitFor } from '../helpers/wait.js'

const MARKET = { seed: 7, preset: 'normal', symbols: 50 }
const quiet = (): void => undefined

let redis: TestRedis
let feed: RedisFeed
const edges: TickstormServer[] = []

async function startEdge(): Promise<TickstormServer> {
  const edge = await createServer({
    host: '127.0.0.1',
    port: 0,
    retryMs: 20,
    heartbeatMs: 200,
    source: { redis: { url: redis.url, log: quiet } },
  })
  edges.push(edge)
  return edge
}

async function startFeed(): Promise<RedisFeed> {
  const publisher = await openRedisFeed({
    url: redis.url,
    market: MARKET,
    feed: { frameMs: 5 },
    log: quiet,
  })
  publisher.start()
  return publisher
}

/** Live events (no snapshots) of a stream; resumed from `after` when given. */
/** The edge's reader of the stream: its source. */
function readerOf(server: TickstormServer): RedisEdge {
  return server.feed as RedisEdge
}

async function stream(edge: TickstormServer, after?: string): Promise<SseCollector> {
  return openSse(`${edge.url}/v1/stream?snapshot=false`, {
    headers: after === undefined ? {} : { 'last-event-id': after },
  })
}

const ids = (events: readonly SseEvent[]): number[] =>
  events.map((event) => Number(event.lastEventId))

/** Ids strictly consecutive from `after + 1`: no gap, no duplicate. */
function expectContiguous(events: readonly SseEvent[], after: number): void {
  const got = ids(events)
  expect(got[0]).toBe(after + 1)
  const breaks = got.filter((id, i) => i > 0 && id !== got[i - 1]! + 1)
  expect(breaks).toEqual([])
}

/** Per-symbol sequences (`q`) go up by one across everything a client saw. */
function expectSymbolSequences(events: readonly SseEvent[]): void {
  const last = new Map<string, number>()
  const broken: string[] = []
  for (const event of events) {
    const { sym, q } = JSON.parse(event.data) as { sym: string; q: number }
    const previous = last.get(sym)
    if (previous !== undefined && q !== previous + 1) broken.push(`${sym} ${previous}→${q}`)
    last.set(sym, q)
  }
  expect(broken).toEqual([])
}

beforeAll(async () => {
  redis = await startRedis()
  feed = await startFeed()
})

afterAll(async () => {
  await Promise.all(edges.map((edge) => edge.close()))
  await feed?.close()
})

describe('edges reading one Redis Stream', () => {
  it('serves the same ids and bytes on every edge; a client moves edge mid-stream with no gap or duplicate', async () => {
    const [a, b] = [await startEdge(), await startEdge()]
    const first = await stream(a)
    await waitFor('events on edge A', () => first.events.length >= 200)
    first.close()
    const seen = first.events.slice()
    const lastId = seen[seen.length - 1]!.lastEventId
    const moved = await stream(b, lastId)
    const again = await stream(a, lastId)
    await waitFor(
      'events on edge B',
      () => moved.events.length >= 200 && again.events.length >= 200,
    )
    moved.close()
    again.close()
    expect(moved.status).toBe(200)
    expectContiguous(moved.events, Number(lastId))
    expectSymbolSequences([...seen, ...moved.events])
    // Both edges encoded the same frames: the same id is the same event, byte for byte.
    const count = Math.min(moved.events.length, again.events.length)
    expect(moved.events.slice(0, count)).toEqual(again.events.slice(0, count))
    // The universe is the generator's, read from Redis.
    const symbols = (await (await fetch(`${b.url}/v1/symbols`)).json()) as { count: number }
    expect(symbols.count).toBe(50)
  })

  it.each(['sse', 'longpoll', 'ws'] as const)(
    'a client that moves to an edge that has not read its id yet waits for it, not a reset (%s)',
    async (transport) => {
      const [ahead, behind] = [await startEdge(), await startEdge()]
      readerOf(behind).stop()
      await waitFor('the edge to stop reading', () => !readerOf(behind).edgeStats().following)
      const first = await stream(ahead)
      await waitFor('the first edge to pass the stopped one', () =>
        first.events.some((event) => Number(event.lastEventId) > behind.feed.headSeq + 50),
      )
      first.close()
      const lastId = first.events.at(-1)!.lastEventId
      expect(Number(lastId)).toBeGreaterThan(behind.feed.headSeq)
      const connecting = CONNECT[transport](behind.url, { lastEventId: lastId, snapshot: false })
      await waitFor(
        'the resume to wait for its id',
        () => readerOf(behind).edgeStats().waitingResumes === 1,
      )
      readerOf(behind).start()
      const moved = await connecting
      await waitFor('events on the edge that caught up', () => moved.events().length >= 100)
      moved.close()
      const events = moved.events()
      expect(events.filter((event) => event.type === 'snapshot')).toEqual([])
      const got = events.map((event) => Number(event.id))
      expect(got[0]).toBe(Number(lastId) + 1)
      expect(got.filter((id, i) => i > 0 && id !== got[i - 1]! + 1)).toEqual([])
    },
  )

  it('an edge that restarts loads the window: a client resumes on it by id', async () => {
    const edge = await startEdge()
    const before = await stream(edge)
    await waitFor('events', () => before.events.length >= 100)
    before.close()
    const lastId = before.events[before.events.length - 1]!.lastEventId
    await edge.close()
    await waitFor('the stream to move on', () => feed.stats().headSeq > Number(lastId) + 300)
    const restarted = await startEdge()
    const resumed = await stream(restarted, lastId)
    await waitFor('the replay and live events', () => resumed.events.length >= 400)
    resumed.close()
    expectContiguous(resumed.events, Number(lastId))
    expectSymbolSequences([...before.events, ...resumed.events])
    // Snapshots are the same on every edge at the same head (latest values from Redis).
    const health = (await (await fetch(`${restarted.url}/healthz`)).json()) as {
      source: { kind: string; connected: boolean }
    }
    expect(health.source).toMatchObject({ kind: 'redis', connected: true })
  })

  it('a generator that restarts continues the stream: next id, same market', async () => {
    const edge = await startEdge()
    const client = await stream(edge)
    await waitFor('events', () => client.events.length >= 100)
    await feed.close()
    const stoppedAt = feed.stats().headSeq
    feed = await startFeed()
    expect(feed.stats().continuedAfter).toBe(stoppedAt)
    await waitFor(
      'events after the restart',
      () => Number(client.events.at(-1)!.lastEventId) > stoppedAt + 200,
    )
    client.close()
    await client.ended
    expect(client.failure()).toBeUndefined()
    expectContiguous(client.events, Number(client.events[0]!.lastEventId) - 1)
    expectSymbolSequences(client.events)
  })

  it('Redis down: edges keep their clients, say so in /healthz, and resume with nothing lost when it is back', async () => {
    const edge = await startEdge()
    const client = await stream(edge)
    await waitFor('events', () => client.events.length >= 100)
    await redis.kill()
    await waitFor('the edge to see the outage', () => !readerOf(edge).edgeStats().redisUp)
    const health = (await (await fetch(`${edge.url}/healthz`)).json()) as {
      source: { connected: boolean; lastError: string | null }
    }
    expect(health.source.connected).toBe(false)
    const countDuringOutage = client.comments.length
    await waitFor(
      'heartbeats while Redis is down',
      () => client.comments.length > countDuringOutage,
    )
    const lastBefore = Number(client.events.at(-1)!.lastEventId)
    await redis.start()
    await waitFor(
      'events after Redis is back',
      () => Number(client.events.at(-1)!.lastEventId) > lastBefore + 200,
      {
        timeoutMs: 20_000,
      },
    )
    client.close()
    expect(client.failure()).toBeUndefined()
    expect(readerOf(edge).edgeStats()).toMatchObject({ redisUp: true, resyncs: 0 })
    expect(readerOf(edge).edgeStats().outages).toBeGreaterThanOrEqual(1)
    expectContiguous(client.events, Number(client.events[0]!.lastEventId) - 1)
    expectSymbolSequences(client.events)
  })
})

describe('an edge with worker threads', () => {
  it('every worker is an edge: same ids and bytes as a lone edge, resume across them', async () => {
    const lone = await startEdge()
    const cluster = await createServer({
      host: '127.0.0.1',
      port: 0,
      retryMs: 20,
      heartbeatMs: 200,
      workers: 2,
      source: { redis: { url: redis.url, log: quiet } },
      cluster: { workerUrl: WORKER_URL, statsIntervalMs: 100 },
    })
    try {
      // Several streams, so the kernel spreads them over both workers.
      const streams = await Promise.all(Array.from({ length: 6 }, () => stream(cluster as never)))
      await waitFor('events on every stream', () => streams.every((s) => s.events.length >= 50))
      const connections = () =>
        (cluster.stats() as ClusterStats).workers.reduce(
          (sum, worker) => sum + worker.sse.connections,
          0,
        )
      await waitFor('both workers to report the streams', () => connections() === 6)
      expect((cluster.stats() as ClusterStats).workers).toHaveLength(2)
      for (const s of streams) s.close()
      const lastId = streams[0]!.events.at(-1)!.lastEventId
      const fromCluster = await stream(cluster as never, lastId)
      const fromLone = await stream(lone, lastId)
      await waitFor(
        'the resumed streams',
        () => fromCluster.events.length >= 100 && fromLone.events.length >= 100,
      )
      fromCluster.close()
      fromLone.close()
      expectContiguous(fromCluster.events, Number(lastId))
      const count = Math.min(fromCluster.events.length, fromLone.events.length)
      expect(fromCluster.events.slice(0, count)).toEqual(fromLone.events.slice(0, count))
      const health = (await (await fetch(`${cluster.url}/healthz`)).json()) as {
        source: { kind: string }
      }
      expect(health.source.kind).toBe('redis')
    } finally {
      await cluster.close()
    }
  })
})

describe('clear errors', () => {
  it('no Redis at the URL: TS_ERR_REDIS_UNAVAILABLE naming it', async () => {
    const error = await createServer({
      port: 0,
      source: { redis: { url: 'redis://127.0.0.1:1', log: quiet } },
    }).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: ERROR_CODES.REDIS_UNAVAILABLE })
    expect((error as Error).message).toContain('redis://127.0.0.1:1')
    // Failures are rejections and events, never the process's exit code.
    expect(process.exitCode).toBeUndefined()
  })

  it('no feed under the prefix: TS_ERR_FEED_MISMATCH saying what to start', async () => {
    const error = await createServer({
      port: 0,
      source: { redis: { url: redis.url, prefix: 'nobody', log: quiet } },
    }).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: ERROR_CODES.FEED_MISMATCH })
    expect((error as Error).message).toContain('tickstorm feed --redis')
  })

  it('a generator of another market on the same stream is refused', async () => {
    const error = await openRedisFeed({
      url: redis.url,
      market: { ...MARKET, seed: 8 },
      feed: {},
      log: quiet,
    }).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: ERROR_CODES.FEED_MISMATCH })
    expect((error as Error).message).toContain('redis-cli del')
  })
})
