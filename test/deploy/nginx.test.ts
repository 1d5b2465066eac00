import { mkdtempSync, rmSync } from 'node:fs'
import type { ClientHttp2Session } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { nowUs } from '../../src/clock.js'
import type { SseEvent } from '../../src/wire/sse-parser.js'
import { expectBuilt } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { waitFor } from '../helpers/wait.js'
import { waitForAsync } from '../helpers/wait-async.js'
import { type Edge, startEdge } from './edge-process.js'
import { connectH2, type H2SseStream, h2Get, openH2Sse, type Timed } from './h2-client.js'
import { type Nginx, startNginx } from './nginx-process.js'
import { readmeNginxSiteFor } from './readme-nginx.js'
import { selfSignedCertificate } from './self-signed.js'

/**
 * The README's nginx example, run as written: Debian's nginx terminating TLS and HTTP/2 in front
 * of two edges (`tickstorm serve`, separate processes), clients speaking HTTP/2 to it (WebSocket:
 * HTTP/1.1). What is asserted at the edges is read from the edges' own /healthz.
 *
 * Both edges run the same seed, so they carry the same events under the same ids (ts aside): the
 * stand-in here for edges reading one Redis Stream, which lets a client resume on either edge.
 * Their market is quiet (`--rate 100`: AAPL ≈ 4 events/s, under 0.5 KB/s), so anything on the
 * path that held back even a 4 KiB buffer would hold events for seconds, and their heartbeats come
 * every 200 ms, so a 5-byte comment must pass on its own.
 */
const EDGE_ARGS = ['--rate', '100', '--heartbeat-ms', '200', '--retry-ms', '100']
const HEARTBEAT_MS = 200
/** Receipt − scheduled time an event may take through nginx; a buffered page would take ~10 s. */
const MAX_DELAY_MS = 1000

let dir: string
let edges: Edge[] = []
let nginx: Nginx | undefined
let origin: string

beforeAll(async () => {
  expectBuilt()
  dir = mkdtempSync(join(tmpdir(), 'tickstorm-nginx-'))
  for (let i = 0; i < 2; i++) edges.push(await startEdge(EDGE_ARGS))
  const [a, b] = edges as [Edge, Edge]
  const { certPath, keyPath } = selfSignedCertificate(dir)
  const port = await freePort()
  // Only these values of the README's block change: where it listens, where the edges are,
  // where the certificate is. Everything else runs as a reader would copy it.
  const site = readmeNginxSiteFor({ port, edgePorts: [a.port, b.port], certPath, keyPath })
  nginx = await startNginx({ dir, port, site })
  origin = `https://127.0.0.1:${port}`
}, 60_000)

afterAll(async () => {
  // Only what this file started, by PID: nginx's master (it stops its workers), then the edges.
  await nginx?.stop()
  const codes = await Promise.all(edges.map((edge) => edge.stop()))
  edges = []
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  expect(codes.every((code) => code === 0)).toBe(true)
})

const sessions: ClientHttp2Session[] = []
const streams: H2SseStream[] = []
const sockets: WebSocket[] = []

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close()
  for (const socket of sockets.splice(0)) socket.terminate()
  for (const session of sessions.splice(0)) session.close()
  // The next test starts with no stream open anywhere, so least_conn starts from even.
  await waitForAsync('the edges to hold no connection', async () => {
    const health = await Promise.all(edges.map((edge) => edge.health()))
    return health.every(({ connections: c }) => c.sse + c.ws + c.longpoll === 0)
  })
})

async function session(): Promise<ClientHttp2Session> {
  const opened = await connectH2(origin)
  sessions.push(opened)
  return opened
}

async function stream(
  on: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<H2SseStream> {
  const opened = await openH2Sse(on, path, headers)
  streams.push(opened)
  return opened
}

const sseConnections = async () =>
  (await Promise.all(edges.map((edge) => edge.health()))).map((health) => health.connections.sse)

// biome-ignore lint/suspicious/noExplicitAny: payloads are read field by field
const data = (event: Timed<SseEvent>): any => JSON.parse(event.value.data)

/** What must be identical between two deliveries of one event by one edge. */
const wire = ({ value }: Timed<SseEvent>) => [value.lastEventId, value.type, value.data]

/**
 * What must be identical between deliveries of one event by two edges: all but `ts`, the wall
 * time each edge's market scheduled it at (each edge started its market at its own moment).
 */
const acrossEdges = (event: Timed<SseEvent>) => {
  const { ts: _ts, ...rest } = data(event)
  return [event.value.lastEventId, event.value.type, rest]
}

/** Resuming from `id` needs an edge whose market has got that far (else: a reset snapshot). */
const bothEdgesPast = (id: string) =>
  waitForAsync(`both edges' head past id ${id}`, async () => {
    const health = await Promise.all(edges.map((edge) => edge.health()))
    return health.every((edge) => edge.headSeq >= Number(id))
  })

/**
 * Every symbol's sequence `q` must run on by exactly one from its snapshot value: a gap or a
 * duplicate anywhere (at the resume seam included) shows up as a break.
 */
function sequenceBreaks(events: readonly Timed<SseEvent>[]): string[] {
  const lastQ = new Map<string, number>()
  const breaks: string[] = []
  for (const event of events) {
    const payload = data(event)
    if (event.value.type === 'snapshot') {
      for (const quote of payload.quotes) lastQ.set(quote.sym, quote.q)
      continue
    }
    const previous = lastQ.get(payload.sym)
    if (previous !== undefined && payload.q !== previous + 1) {
      breaks.push(`${payload.sym}: q ${previous} then ${payload.q} (id ${event.value.lastEventId})`)
    }
    lastQ.set(payload.sym, payload.q)
  }
  return breaks
}

describe('the README nginx example in front of two edges', () => {
  test('over HTTP/2, a stream arrives event by event with its heartbeats, uncompressed', async () => {
    const h2 = await session()
    expect(h2.alpnProtocol).toBe('h2')

    // The control: the main config gzips JSON, so it would gzip streams too, but for the site's
    // `gzip off`.
    const symbols = await h2Get(h2, '/v1/symbols', { 'accept-encoding': 'gzip' })
    expect(symbols.status).toBe(200)
    expect(symbols.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(symbols.body).symbols[0].symbol).toBe('AAPL')

    const openedUs = nowUs()
    const sse = await stream(h2, '/v1/stream?symbols=AAPL', { 'accept-encoding': 'gzip, br' })
    expect(sse.status).toBe(200)
    expect(sse.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(sse.headers['content-encoding']).toBeUndefined()
    expect(sse.headers['cache-control']).toBe('no-store, no-transform')

    await waitFor('the first event', () => sse.events.length >= 1, { timeoutMs: 5000 })
    expect(sse.isEnded()).toBe(false)
    expect(sse.events[0]!.value.type).toBe('snapshot')
    expect((sse.events[0]!.receivedUs - openedUs) / 1000).toBeLessThan(MAX_DELAY_MS)

    const heartbeats = () => sse.comments.filter((comment) => comment.value === 'hb')
    await waitFor(
      '8 live events and 3 heartbeats',
      () => sse.events.length >= 9 && heartbeats().length >= 3,
      { timeoutMs: 20_000, state: () => ({ events: sse.events.length, hb: heartbeats().length }) },
    )
    expect(sse.isEnded()).toBe(false)
    // Each live event left nginx as the edge wrote it: receipt − the market's scheduled time.
    const delaysMs = sse.events.slice(1).map((event) => (event.receivedUs - data(event).ts) / 1000)
    expect(Math.max(...delaysMs)).toBeLessThan(MAX_DELAY_MS)
    // Heartbeats came one by one as the edge's timer wrote them, not in one batch.
    const [first, , third] = heartbeats()
    expect((third!.receivedUs - first!.receivedUs) / 1000).toBeGreaterThanOrEqual(HEARTBEAT_MS)
    expect(sse.reads()).toBeGreaterThanOrEqual(sse.events.length / 2)
  })

  test('Last-Event-ID reaches the edge and resumes with no gap and no duplicate', async () => {
    const h2 = await session()
    // A stream held on one edge, so least_conn sends the next streams to the other one.
    const holder = await stream(h2, '/v1/stream?symbols=MSFT&snapshot=false')
    await waitForAsync('the holder stream on an edge', async () => {
      const counts = await sseConnections()
      return counts[0]! + counts[1]! === 1
    })
    expect(holder.status).toBe(200)
    const edge = edges[(await sseConnections())[0] === 1 ? 1 : 0]!
    const before = await edge.health()

    const firstStream = await stream(h2, '/v1/stream')
    await waitFor('60 events', () => firstStream.events.length >= 60)
    expect((await edge.health()).connections.sse).toBe(1)
    firstStream.close()
    await waitForAsync(
      'the edge to see the first stream closed',
      async () => (await edge.health()).connections.sse === 0,
    )
    // The client saw the snapshot and 29 events, then lost the connection; it comes back with
    // the last id it saw, as EventSource does.
    const seen = firstStream.events.slice(0, 30)
    const lastSeen = seen.at(-1)!.value.lastEventId
    const missed = firstStream.events.slice(30)

    const resumed = await stream(h2, '/v1/stream', { 'last-event-id': lastSeen })
    await waitFor(
      'the missed events and 10 more',
      () => resumed.events.length >= missed.length + 10,
    )
    const after = await edge.health()
    expect(after.sse.opened).toBe(before.sse.opened + 2)
    expect(after.sse.replayHits).toBe(before.sse.replayHits + 1)

    // No snapshot: the edge replayed from just after `lastSeen`, the very events (same bytes)
    // the first stream got after it, then went on live.
    expect(resumed.events[0]!.value.type).not.toBe('snapshot')
    expect(Number(resumed.events[0]!.value.lastEventId)).toBeGreaterThan(Number(lastSeen))
    expect(resumed.events.slice(0, missed.length).map(wire)).toEqual(missed.map(wire))
    const ids = resumed.events.map((event) => Number(event.value.lastEventId))
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true)
    expect(sequenceBreaks([...seen, ...resumed.events])).toEqual([])
  })

  test('a client resumes on the other edge with the id the first one gave it', async () => {
    const h2 = await session()
    const holder = await stream(h2, '/v1/stream?symbols=MSFT&snapshot=false')
    await waitForAsync('the holder stream on an edge', async () => {
      const counts = await sseConnections()
      return counts[0]! + counts[1]! === 1
    })
    const holderAt = (await sseConnections())[0] === 1 ? 0 : 1
    const [other, first] = [edges[holderAt]!, edges[1 - holderAt]!]

    const onFirst = await stream(h2, '/v1/stream')
    await waitFor('60 events', () => onFirst.events.length >= 60)
    expect((await first.health()).connections.sse).toBe(1)
    // Now the other edge holds nothing and the first holds a stream: least_conn sends the
    // resume to the other edge, as it would once the first edge went away.
    holder.close()
    await waitForAsync(
      'the other edge to hold no stream',
      async () => (await other.health()).connections.sse === 0,
    )
    const seen = onFirst.events.slice(0, 30)
    const lastSeen = seen.at(-1)!.value.lastEventId
    await bothEdgesPast(lastSeen)
    const before = await other.health()

    const resumed = await stream(h2, '/v1/stream', { 'last-event-id': lastSeen })
    await waitFor('40 resumed events', () => resumed.events.length >= 40)
    const after = await other.health()
    expect(after.sse.opened).toBe(before.sse.opened + 1)
    expect(after.sse.replayHits).toBe(before.sse.replayHits + 1)

    expect(resumed.events[0]!.value.type).not.toBe('snapshot')
    const overlap = Math.min(onFirst.events.length - 30, resumed.events.length)
    expect(overlap).toBeGreaterThanOrEqual(30)
    expect(resumed.events.slice(0, overlap).map(acrossEdges)).toEqual(
      onFirst.events.slice(30, 30 + overlap).map(acrossEdges),
    )
    expect(sequenceBreaks([...seen, ...resumed.events])).toEqual([])
  })

  test('least_conn spreads streams over both edges, and both deliver', async () => {
    const h2 = await session()
    const before = await Promise.all(edges.map((edge) => edge.health()))
    for (let i = 0; i < 4; i++) {
      const sse = await stream(h2, '/v1/stream?symbols=AAPL,MSFT')
      await waitFor(`stream ${i + 1}'s snapshot`, () => sse.events.length >= 1)
    }
    expect(await sseConnections()).toEqual([2, 2])
    await waitForAsync('deliveries from both edges', async () => {
      const now = await Promise.all(edges.map((edge) => edge.health()))
      return now.every((health, i) => health.sse.deliveries > before[i]!.sse.deliveries)
    })
  })

  test('a WebSocket upgrades through nginx and receives events and heartbeats', async () => {
    const socket = new WebSocket(`${origin.replace('https', 'wss')}/v1/ws`, {
      rejectUnauthorized: false,
    })
    sockets.push(socket)
    // biome-ignore lint/suspicious/noExplicitAny: messages are read field by field
    const messages: any[] = []
    socket.on('message', (raw) => messages.push(JSON.parse(raw.toString())))
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    socket.send(JSON.stringify({ op: 'subscribe', symbols: ['AAPL', 'MSFT'] }))
    const events = () => messages.filter(Array.isArray).flat()
    await waitFor(
      'subscribed, 10 events and a heartbeat',
      () =>
        messages.some((message) => message.op === 'subscribed') &&
        events().length >= 10 &&
        messages.some((message) => message.op === 'hb'),
      { state: () => messages.slice(0, 5) },
    )
    expect(events()[0].event).toBe('snapshot')
    const ids = events().map((event) => Number(event.id))
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true)
    const health = await Promise.all(edges.map((edge) => edge.health()))
    expect(health.map((edge) => edge.connections.ws).sort()).toEqual([0, 1])
  })

  test('long polls pass over HTTP/2, answered with events after their cursor', async () => {
    const h2 = await session()
    const first = await h2Get(h2, '/v1/poll?symbols=AAPL,MSFT&timeoutMs=0')
    expect(first.status).toBe(200)
    const start = JSON.parse(first.body) as { events: { event: string }[]; cursor: string }
    expect(start.events.map((event) => event.event)).toEqual(['snapshot'])
    // The next poll may land on the other edge, which carries the same ids once it got as far.
    await bothEdgesPast(start.cursor)
    const next = await h2Get(
      h2,
      `/v1/poll?symbols=AAPL,MSFT&timeoutMs=10000&cursor=${start.cursor}`,
    )
    expect(next.status).toBe(200)
    const body = JSON.parse(next.body) as { events: { id: string }[] }
    expect(body.events.length).toBeGreaterThan(0)
    expect(Number(body.events[0]!.id)).toBeGreaterThan(Number(start.cursor))
  })
})
