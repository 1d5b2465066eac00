import { createServer as createNetServer, type Server } from 'node:net'
import { describe, expect, test } from 'vitest'
import { createMarket } from '../../src/market/market.js'
import type { Tick } from '../../src/market/types.js'
import { type ClusterStats, createCluster } from '../../src/server/cluster.js'
import type { HealthDocument } from '../../src/server/health.js'
import type { TickstormServer } from '../../src/server/server.js'
import { encodeTickJson } from '../../src/wire/tick-json.js'
import {
  caughtUp,
  getOnNewConnection,
  manualFeed,
  startCluster,
  WORKER_URL,
  waitForAsync,
} from '../helpers/cluster.js'
import { openSse, type SseCollector } from '../helpers/sse-client.js'
import { CONNECT, type TransportName } from '../helpers/transport-clients.js'
import { waitFor } from '../helpers/wait.js'

const MARKET = { preset: 'normal', seed: 7, ratePerSec: 400 } as const

/** Per-worker SSE stream counts, as the whole server's /healthz reports them. */
async function streamsPerWorker(cluster: TickstormServer): Promise<number[]> {
  const health = (await (await fetch(`${cluster.url}/healthz`)).json()) as HealthDocument
  return health.perWorker!.map((worker) => worker.connections.sse)
}

/** The streams per worker, asserting that the kernel spread them over every worker. */
async function expectStreamsOnEveryWorker(cluster: TickstormServer): Promise<number[]> {
  const perWorker = await streamsPerWorker(cluster)
  expect(
    perWorker.every((count) => count > 0),
    `streams per worker: ${perWorker}`,
  ).toBe(true)
  return perWorker
}

/** The market's own ticks, in sequence order: tick `i` is event id `i + 1` on every worker. */
function referenceTicks(count: number): Tick[] {
  const market = createMarket(MARKET)
  const ticks: Tick[] = []
  let untilUs = market.simTimeUs
  while (ticks.length < count) {
    untilUs += 1_000_000
    market.advanceTo(untilUs, ticks)
  }
  return ticks
}

/** Opens `count` streams, each on a connection of its own (so the kernel spreads them). */
async function openStreams(url: string, count: number, headers: Record<string, string> = {}) {
  const streams: SseCollector[] = []
  for (let i = 0; i < count; i++) streams.push(await openSse(url, { headers }))
  return streams
}

describe('createCluster: N workers on one port, one feed', () => {
  test('connections land on both workers, and every client gets the same ids and bytes, those of the market', async () => {
    const cluster = await startCluster(MARKET, 2)
    await waitFor('the feed to run', () => cluster.feed.headSeq >= 20)
    // Everyone resumes from the same id, so everyone must receive the same sequence after it.
    const from = cluster.feed.headSeq - 10
    const streams = await openStreams(`${cluster.url}/v1/stream`, 24, {
      'last-event-id': String(from),
    })
    const perWorker = await expectStreamsOnEveryWorker(cluster)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(24)

    const wanted = 150
    await waitFor(`${wanted} events on every stream`, () =>
      streams.every((stream) => stream.events.length >= wanted),
    )
    const ticks = referenceTicks(from + wanted)
    const firstWire = streams[0]!.events
      .slice(0, wanted)
      .map((e) => [e.lastEventId, e.type, e.data])
    for (const stream of streams) {
      const wire = stream.events.slice(0, wanted).map((e) => [e.lastEventId, e.type, e.data])
      expect(wire).toEqual(firstWire)
      stream.close()
    }
    // Ids continue the resume point one by one, and each event is the market's tick of that id,
    // encoded as a single process encodes it (its own `ts`, the time it was scheduled, aside).
    firstWire.forEach(([id, type, data], i) => {
      expect(Number(id)).toBe(from + 1 + i)
      const tick = ticks[from + i]!
      expect(type).toBe(tick.kind)
      const { ts } = JSON.parse(data!) as { ts: number }
      expect(data).toBe(encodeTickJson(tick, cluster.feed.symbols[tick.symbol]!, ts))
    })
  })

  test('a client that reconnects with Last-Event-ID, landing on either worker, misses nothing and gets nothing twice', async () => {
    const cluster = await startCluster(MARKET, 2)
    const received: { id: number; type: string }[] = []
    const workersSeen = new Set<number>()
    let lastId: string | undefined
    for (let attempt = 0; attempt < 40 && (workersSeen.size < 2 || attempt < 6); attempt++) {
      const stream = await openSse(`${cluster.url}/v1/stream`, {
        headers: lastId === undefined ? {} : { 'last-event-id': lastId },
      })
      const counts = await streamsPerWorker(cluster)
      workersSeen.add(counts.indexOf(1))
      await waitFor('events on this connection', () => stream.events.length >= 20)
      stream.close()
      await waitForAsync('the stream to be gone', async () =>
        (await streamsPerWorker(cluster)).every((count) => count === 0),
      )
      for (const event of stream.events) {
        received.push({ id: Number(event.lastEventId), type: event.type })
      }
      lastId = stream.events.at(-1)!.lastEventId
    }
    expect([...workersSeen].sort(), 'the client was served by both workers').toEqual([0, 1])
    // The first connection starts with a snapshot; every later one resumes from the ring.
    expect(received.filter((event) => event.type === 'snapshot')).toHaveLength(1)
    const ids = received.filter((event) => event.type !== 'snapshot').map((event) => event.id)
    ids.forEach((id, i) => {
      if (i > 0) expect(id).toBe(ids[i - 1]! + 1)
    })
  })

  test.each(['longpoll', 'ws'] as TransportName[])(
    '%s resumes on a new connection with the same ids',
    async (transport) => {
      const manual = manualFeed()
      const cluster = await startCluster(MARKET, 2, { source: manual.source })
      const head = await manual.advance(50)
      await caughtUp(cluster, head)
      const client = await CONNECT[transport](cluster.url, { lastEventId: String(head - 40) })
      await waitFor('the replayed events', () => client.events().length >= 40)
      client.close()
      const next = await CONNECT[transport](cluster.url, { lastEventId: String(head - 20) })
      const after = await manual.advance(30)
      await waitFor('replay and live events', () => next.events().length >= after - (head - 20))
      next.close()
      const ids = [...client.events(), ...next.events()].map((event) => Number(event.id))
      expect(ids.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => head - 39 + i))
      expect(ids.slice(40)).toEqual(
        Array.from({ length: after - head + 20 }, (_, i) => head - 19 + i),
      )
    },
  )

  test('snapshots are the same from every worker', async () => {
    const manual = manualFeed()
    const cluster = await startCluster(MARKET, 2, { source: manual.source })
    const head = await manual.advance(300)
    await caughtUp(cluster, head)
    // Streams that start with a snapshot, on both workers.
    const streams = await openStreams(`${cluster.url}/v1/stream?symbols=AAPL,MSFT,NVDA,TSLA`, 16)
    await waitFor('a snapshot on every stream', () =>
      streams.every((stream) => stream.events.length >= 1),
    )
    await expectStreamsOnEveryWorker(cluster)
    // A snapshot's `ts` is when it was taken; everything else must be the same.
    const withoutTs = (json: string) => json.replace(/^\{"ts":\d+,/, '{')
    const snapshots = streams.map((stream) => stream.events[0]!)
    const expected = withoutTs(snapshots[0]!.data)
    expect(JSON.parse(snapshots[0]!.data)).toMatchObject({ seq: head, reset: false })
    for (const snapshot of snapshots) {
      expect(snapshot.type).toBe('snapshot')
      expect(snapshot.lastEventId).toBe(String(head))
      expect(withoutTs(snapshot.data)).toBe(expected)
    }
    for (const stream of streams) stream.close()
    // And GET /v1/snapshot, each on a connection of its own.
    const answers = await Promise.all(
      Array.from({ length: 16 }, () =>
        getOnNewConnection(`${cluster.url}/v1/snapshot?symbols=AAPL,MSFT,NVDA,TSLA`),
      ),
    )
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(withoutTs(answer.body)).toBe(expected)
    }
  })

  test('POST /v1/drop cuts the client on every worker, and no one else', async () => {
    const cluster = await startCluster(MARKET, 2)
    const mine = await openStreams(`${cluster.url}/v1/stream?client=tab-1&symbols=AAPL`, 12)
    const others = await openStreams(`${cluster.url}/v1/stream?client=tab-2&symbols=AAPL`, 4)
    await expectStreamsOnEveryWorker(cluster)
    // One request, answered by one worker, cuts the client's streams on both.
    const response = await fetch(`${cluster.url}/v1/drop?client=tab-1`, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ client: 'tab-1', dropped: 12 })
    await waitFor('every stream of tab-1 to be cut', () => mine.every((stream) => stream.isEnded()))
    expect(others.some((stream) => stream.isEnded())).toBe(false)
    const nobody = await fetch(`${cluster.url}/v1/drop?client=nobody`, { method: 'POST' })
    expect(await nobody.json()).toEqual({ client: 'nobody', dropped: 0 })
    for (const stream of others) stream.close()
  })

  test('dropStreams cuts connections on every worker, as a network fault would', async () => {
    const cluster = await startCluster(MARKET, 2)
    const streams = await openStreams(`${cluster.url}/v1/stream?symbols=AAPL`, 12)
    await expectStreamsOnEveryWorker(cluster)
    expect(await cluster.dropStreams()).toBe(12)
    await waitFor('every stream to be cut', () => streams.every((stream) => stream.isEnded()))
  })

  test('/healthz and /metrics describe the whole server', async () => {
    const manual = manualFeed()
    const cluster = await startCluster(MARKET, 2, { source: manual.source })
    const streams = await openStreams(`${cluster.url}/v1/stream?snapshot=false`, 10)
    const head = await manual.advance(200)
    await waitFor('every event on every stream', () =>
      streams.every((stream) => stream.events.at(-1)?.lastEventId === String(head)),
    )
    const health = (await (await fetch(`${cluster.url}/healthz`)).json()) as HealthDocument
    expect(health.status).toBe('ok')
    expect(health.workers).toBe(2)
    expect(health.headSeq).toBe(head)
    expect(health.connections).toEqual({ sse: 10, longpoll: 0, ws: 0 })
    expect(health.perWorker!.map((worker) => worker.headSeq)).toEqual([head, head])
    expect(health.sse.deliveries).toBe(10 * head)
    const perWorker = health.perWorker!.map((worker) => worker.connections.sse)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(10)

    const text = await (await fetch(`${cluster.url}/metrics`)).text()
    const value = (line: string) => {
      const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `))
      expect(found, line).toBeDefined()
      return Number(found!.slice(line.length + 1))
    }
    expect(value('tickstorm_connections{transport="sse"}')).toBe(10)
    expect(value('tickstorm_deliveries_total{transport="sse"}')).toBe(10 * head)
    // The feed is one, not one per worker: its metrics are not added up.
    expect(value('tickstorm_feed_head_sequence')).toBe(head)
    expect(value('tickstorm_feed_events_total')).toBe(head)
    expect(text.match(/^# TYPE tickstorm_connections gauge$/gm)).toHaveLength(1)
    expect((cluster.stats() as ClusterStats).workers).toHaveLength(2)
    for (const stream of streams) stream.close()
  })

  test('close drains every worker like the single server, then the threads end and the port is free', async () => {
    const cluster = await startCluster(
      { ...MARKET, drainRetryMinMs: 1000, drainRetryMaxMs: 5000 },
      2,
    )
    const streams = await openStreams(`${cluster.url}/v1/stream?symbols=AAPL`, 12)
    await expectStreamsOnEveryWorker(cluster)
    await cluster.close()
    await Promise.all(streams.map((stream) => stream.ended))
    for (const stream of streams) {
      // The preamble's retry:, then the drain's, jittered within the bounds.
      expect(stream.retries).toHaveLength(2)
      expect(stream.retries[1]).toBeGreaterThanOrEqual(1000)
      expect(stream.retries[1]).toBeLessThanOrEqual(5000)
      expect(stream.failure()).toBeUndefined()
    }
    const free = await new Promise<boolean>((resolve) => {
      const probe: Server = createNetServer()
      probe.once('error', () => resolve(false))
      probe.listen(cluster.port, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
    expect(free).toBe(true)
  })

  test('a worker that crashes: the others are drained and the failure is reported, coded', async () => {
    const manual = manualFeed()
    // This worker entry point is the real one, plus a fault in worker 2 on its first frame.
    const cluster = await startCluster(MARKET, 2, {
      source: manual.source,
      workerUrl: new URL('../fixtures/crashing-cluster-worker.mjs', import.meta.url),
    })
    const streams = await openStreams(`${cluster.url}/v1/stream?symbols=AAPL`, 8)
    const failure = new Promise<Error & { code?: string }>((resolve) => cluster.onFailure(resolve))
    await manual.advance(1)
    const error = await failure
    expect(error.code).toBe('TS_ERR_WORKER_CRASHED')
    expect(error.message).toContain('worker 2 of 2 crashed: injected fault')
    // Every stream ended, on either worker, with a retry: to come back later.
    await Promise.all(streams.map((stream) => stream.ended))
    for (const stream of streams) expect(stream.retries).toHaveLength(2)
    await expect(fetch(`${cluster.url}/healthz`)).rejects.toThrow()
  })

  test('a port in use is TS_ERR_LISTEN_FAILED, and no thread is left behind', async () => {
    const blocker: Server = createNetServer()
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    )
    await expect(
      createCluster({ port, host: '127.0.0.1' }, 2, { workerUrl: WORKER_URL }),
    ).rejects.toMatchObject({ code: 'TS_ERR_LISTEN_FAILED' })
    blocker.close()
  })

  test('bad options are every problem at once, before any thread starts', async () => {
    await expect(
      createCluster({ port: 0, maxConnections: 1, speed: 0 }, 2, { workerUrl: WORKER_URL }),
    ).rejects.toMatchObject({
      code: 'TS_ERR_INVALID_OPTIONS',
      message: expect.stringMatching(
        /`speed`[\s\S]*`maxConnections` must be 0 or at least workers/,
      ),
    })
    await expect(createCluster({ port: 0 }, 0, { workerUrl: WORKER_URL })).rejects.toMatchObject({
      message: expect.stringContaining('`workers` must be an integer from 1 to 64, got 0'),
    })
  })
})
