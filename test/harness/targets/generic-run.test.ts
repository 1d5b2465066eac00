import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { WebSocketServer } from 'ws'
import { TickstormError } from '../../../src/errors.js'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import { createMarket } from '../../../src/market/market.js'
import type { RunResult } from '../../../src/report/result-schema.js'
import { formatVerdict } from '../../../src/report/verdict.js'

/**
 * The harness against a push server that is not tickstorm and not shaped like it, described only
 * by a generic target: unnamed SSE events with a stream id, a payload `{"t": <epoch ms>, "n":
 * <per-topic seq>, "topic": …}`, a resume by query parameter (`?since=<id>`), topics in the query.
 * Its own events (source server: loss from gaps) and the harness's published ones (source harness:
 * loss against what was sent, the tail a subscriber never got included).
 */

const servers: Server[] = []
const timers: NodeJS.Timeout[] = []
afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer)
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ),
  )
})

async function listen(server: Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

interface Stream {
  readonly res: ServerResponse
  readonly topics: ReadonlySet<string>
}

/** The topics of `?topics=A,B`. */
function topicsOf(url: URL): Set<string> {
  return new Set((url.searchParams.get('topics') ?? '').split(',').filter((t) => t !== ''))
}

function openStream(req: IncomingMessage, res: ServerResponse, streams: Set<Stream>): Stream {
  const stream = { res, topics: topicsOf(new URL(req.url ?? '/', 'http://x')) }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
  // A short retry, so a dropped subscriber is back within the run.
  res.write('retry: 50\n\n')
  streams.add(stream)
  req.on('close', () => streams.delete(stream))
  return stream
}

/**
 * A server making its own events: every 5 ms one event, topics A and B in turn (~200 events/s),
 * kept in a small history; `GET /events?topics=A,B&since=<id>` replays what came after `id`
 * (unless `honourSince` is false: then a reconnect starts live and what it missed is gone), and
 * `/ws?topics=A,B` sends each event's payload as one WebSocket message.
 */
async function startOwnEventsServer(options: { honourSince: boolean }) {
  const streams = new Set<Stream>()
  const history: { id: number; topic: string; data: string }[] = []
  const seq = new Map<string, number>()
  const served = { resumes: 0, replayed: 0 }
  let id = 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== '/events') {
      res.writeHead(404).end()
      return
    }
    const stream = openStream(req, res, streams)
    const since = url.searchParams.get('since')
    if (since !== null) {
      served.resumes++
      if (options.honourSince) {
        for (const event of history) {
          if (event.id > Number(since) && stream.topics.has(event.topic)) {
            res.write(`id: ${event.id}\ndata: ${event.data}\n\n`)
            served.replayed++
          }
        }
      }
    }
  })
  const sockets = new WebSocketServer({ server, path: '/ws' })
  const timer = setInterval(() => {
    const topic = id % 2 === 0 ? 'A' : 'B'
    const n = (seq.get(topic) ?? 0) + 1
    seq.set(topic, n)
    const event = { id: ++id, topic, data: JSON.stringify({ t: Date.now(), n, topic }) }
    history.push(event)
    if (history.length > 1000) history.shift()
    const frame = `id: ${event.id}\ndata: ${event.data}\n\n`
    for (const stream of streams) if (stream.topics.has(topic)) stream.res.write(frame)
    for (const socket of sockets.clients) {
      if ((socket as unknown as { topics?: Set<string> }).topics?.has(topic)) {
        socket.send(event.data)
      }
    }
  }, 5)
  sockets.on('connection', (socket, req) => {
    ;(socket as unknown as { topics: Set<string> }).topics = topicsOf(
      new URL(req.url ?? '/', 'http://x'),
    )
  })
  timers.push(timer)
  server.on('close', () => sockets.close())
  return { url: await listen(server), served }
}

/**
 * A relay for the harness's publisher: `POST /publish/<topic>` sends the body, as it is, as one
 * unnamed SSE event to every stream of that topic, and answers 204. Publishes for `dropTopic` are
 * answered 204 too and go nowhere (a server losing one channel's events silently).
 */
async function startRelayServer(options: { dropTopic?: string } = {}) {
  const streams = new Set<Stream>()
  const received = new Map<string, number>()
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const publish = /^\/publish\/([^/]+)$/.exec(url.pathname)
    if (publish !== null && req.method === 'POST') {
      const topic = decodeURIComponent(publish[1]!)
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => {
        body += chunk
      })
      req.on('end', () => {
        received.set(topic, (received.get(topic) ?? 0) + 1)
        if (topic !== options.dropTopic) {
          const frame = `data: ${body}\n\n`
          for (const stream of streams) if (stream.topics.has(topic)) stream.res.write(frame)
        }
        res.writeHead(204).end()
      })
      return
    }
    if (url.pathname === '/events') {
      openStream(req, res, streams)
      return
    }
    res.writeHead(404).end()
  })
  return { url: await listen(server), received }
}

const GENERIC_EVENTS_TARGET = (url: string, resume: string) =>
  `{ kind: generic, url: "${url}", sse: { path: "/events?topics={symbols}", resume: ${resume} }, ws: { path: "/ws?topics={symbols}" }, event: { time: "$.t", timeUnit: ms, sequence: "$.n", key: "$.topic" } }`

function ownEventsScenario(target: string, lines: { transports: string; extra?: string[] }) {
  return parseScenario(
    [
      'name: generic-own-events',
      'description: a push server of another shape, making its own events',
      `target: ${target}`,
      'source: server',
      `transports: ${lines.transports}`,
      'subscribers:',
      '  count: 3',
      '  watchList: { pick: fixed, symbols: [A, B] }',
      'warmupSec: 0',
      'durationSec: 2',
      ...(lines.extra ?? []),
    ].join('\n'),
    'generic-own-events.yaml',
  )
}

/**
 * The scenario's thresholds held. Not `result.passed`: that also needs the harness's own validity
 * (its event-loop delay), which a test server sharing the harness's process may spoil.
 */
function expectThresholdsPassed(result: RunResult): void {
  for (const transport of result.transports) {
    expect(transport.thresholds.length, transport.transport).toBeGreaterThan(0)
    expect(
      transport.thresholds.every((t) => t.passed),
      formatVerdict(result),
    ).toBe(true)
  }
}

const RUN_OPTIONS = {
  serverBin: 'unused',
  scenarioFile: 'generic.yaml',
  commit: 'test',
  workers: 0,
  retryMs: 50,
} as const

const DROP = ['faults:', '  - { atSec: 1, kind: drop }', 'thresholds: { maxLossRatio: 0 }']

describe('a generic target making its own events (source server)', () => {
  test('a drop fault, resumed by ?since=: deliveries, nothing lost, loss counted from gaps', async () => {
    const server = await startOwnEventsServer({ honourSince: true })
    const scenario = ownEventsScenario(GENERIC_EVENTS_TARGET(server.url, '{ query: since }'), {
      transports: '[sse]',
      extra: DROP,
    })
    const { result } = await runScenario(scenario, RUN_OPTIONS)
    expect(result.targetKind).toBe('generic')
    expect(result.source).toBe('server')
    expect(result.channelsPerConnection).toBeNull()
    const sse = result.transports[0]!
    expect(sse.faults?.map((f) => f.kind)).toEqual(['drop'])
    // Every subscriber came back, asking for what it missed the server's way.
    expect(sse.reconnects).toBeGreaterThanOrEqual(3)
    expect(server.served.resumes).toBeGreaterThanOrEqual(3)
    expect(server.served.replayed).toBeGreaterThan(0)
    expect(sse.deliveries).toBeGreaterThan(500)
    expect(sse.lost).toBe(0)
    expect(sse.gaps).toBe(0)
    expect(sse.duplicates).toBe(0)
    expect(sse.errorsByKind['unreadable-event'] ?? 0).toBe(0)
    expect(sse.lossCountedAgainst).toBe('gaps')
    expect(sse.tailLost).toBeUndefined()
    // ms timestamps read as µs: a local relay is well under a second (and not negative).
    expect(sse.latencyUs.p50).toBeGreaterThanOrEqual(0)
    expect(sse.latencyUs.p50).toBeLessThan(1_000_000)
    expectThresholdsPassed(result)
  })

  test('the same server ignoring ?since=: the events missed while away are lost', async () => {
    const server = await startOwnEventsServer({ honourSince: false })
    const scenario = ownEventsScenario(GENERIC_EVENTS_TARGET(server.url, '{ query: since }'), {
      transports: '[sse]',
      extra: DROP,
    })
    const { result } = await runScenario(scenario, RUN_OPTIONS)
    const sse = result.transports[0]!
    expect(server.served.resumes).toBeGreaterThanOrEqual(3)
    expect(sse.deliveries).toBeGreaterThan(0)
    expect(sse.lost).toBeGreaterThan(0)
    expect(sse.gaps).toBeGreaterThan(0)
    expect(sse.lossCountedAgainst).toBe('gaps')
    expect(result.passed).toBe(false)
    expect(formatVerdict(result)).toMatch(/sse loss rate <= 0: \d+(\.\d+)? %/)
  })

  test('its WebSocket endpoint, one payload per message: deliveries, nothing lost', async () => {
    const server = await startOwnEventsServer({ honourSince: true })
    const scenario = ownEventsScenario(GENERIC_EVENTS_TARGET(server.url, '{ query: since }'), {
      transports: '[ws]',
      extra: ['thresholds: { maxLossRatio: 0 }'],
    })
    const { result } = await runScenario(scenario, RUN_OPTIONS)
    const ws = result.transports[0]!
    expect(ws.transport).toBe('ws')
    expect(ws.deliveries).toBeGreaterThan(500)
    expect(ws.lost).toBe(0)
    expect(ws.errorsByKind['unreadable-event'] ?? 0).toBe(0)
    expect(ws.latencyUs.p50).toBeLessThan(1_000_000)
    expectThresholdsPassed(result)
  })

  test('without fixed symbols the run refuses to start, saying what to give', async () => {
    const server = await startOwnEventsServer({ honourSince: true })
    const scenario = parseScenario(
      [
        'name: generic-no-symbols',
        'description: a generic server-sourced target and a zipf watch-list',
        `target: ${GENERIC_EVENTS_TARGET(server.url, '{ query: since }')}`,
        'transports: [sse]',
        'subscribers: { count: 1, watchList: { size: 2 } }',
        'warmupSec: 0',
        'durationSec: 1',
      ].join('\n'),
      'generic-no-symbols.yaml',
    )
    const run = runScenario(scenario, RUN_OPTIONS)
    await expect(run).rejects.toBeInstanceOf(TickstormError)
    await expect(run).rejects.toThrow(
      /a generic target with source: server lists no symbols: give subscribers\.watchList\.pick: fixed with its symbols/,
    )
  })
})

/** The market of `server: { symbols: 5, ratePerSec: 200 }`, as the harness's publisher runs it. */
const MARKET_SYMBOLS = createMarket({
  preset: 'normal',
  seed: 1,
  symbols: 5,
  ratePerSec: 200,
}).instruments.map((instrument) => instrument.symbol)

function harnessScenario(url: string, watchList: string) {
  return parseScenario(
    [
      'name: generic-published',
      "description: a relay fed by the harness's publisher",
      `target: { kind: generic, url: "${url}", sse: { path: "/events?topics={symbols}", resume: none }, publish: { method: POST, path: "/publish/{symbol}" } }`,
      'source: harness',
      'server: { symbols: 5, ratePerSec: 200 }',
      'transports: [sse]',
      'subscribers:',
      '  count: 3',
      `  watchList: ${watchList}`,
      'warmupSec: 1',
      'durationSec: 2',
      'thresholds: { maxLossRatio: 0 }',
    ].join('\n'),
    'generic-published.yaml',
  )
}

describe('a generic target fed by the harness (source harness)', () => {
  test('each tick POSTed to /publish/{symbol} reaches its subscribers: nothing lost against what was sent', async () => {
    const server = await startRelayServer()
    const { result } = await runScenario(
      harnessScenario(server.url, '{ size: 5, pick: uniform }'),
      RUN_OPTIONS,
    )
    expect(result.targetKind).toBe('generic')
    expect(result.source).toBe('harness')
    // The relay took publishes for the market's symbols, by name in the path.
    expect([...server.received.keys()].every((s) => MARKET_SYMBOLS.includes(s))).toBe(true)
    expect(server.received.size).toBeGreaterThanOrEqual(2)
    const sse = result.transports[0]!
    expect(sse.publisher?.published).toBeGreaterThan(100)
    expect(sse.publisher?.failed).toBe(0)
    expect(sse.deliveries).toBeGreaterThan(100)
    expect(sse.lossCountedAgainst).toBe('sent')
    expect(sse.tailLost).toBe(0)
    expect(sse.lost).toBe(0)
    expect(sse.latencyUs.p50).toBeLessThan(1_000_000)
    expectThresholdsPassed(result)
  })

  test('a relay that silently drops one symbol: what was never received is lost, and the run fails', async () => {
    // The busiest symbol of the market (instruments come most active first): it surely trades.
    const dropped = MARKET_SYMBOLS[0]!
    const kept = MARKET_SYMBOLS[1]!
    const server = await startRelayServer({ dropTopic: dropped })
    const { result } = await runScenario(
      harnessScenario(server.url, `{ pick: fixed, symbols: [${dropped}, ${kept}] }`),
      RUN_OPTIONS,
    )
    // The publishes were made and acknowledged: the loss is the relay's, after the publish.
    expect(server.received.get(dropped)).toBeGreaterThan(0)
    const sse = result.transports[0]!
    expect(sse.publisher?.failed).toBe(0)
    expect(sse.deliveries).toBeGreaterThan(0)
    expect(sse.lossCountedAgainst).toBe('sent')
    // The dropped symbol never arrived, so there is no hole between two of its events to see:
    // all of the loss is the tail counted against what was sent (the kept symbol lost nothing).
    expect(sse.tailLost).toBeGreaterThan(0)
    expect(sse.lost).toBe(sse.tailLost)
    expect(result.passed).toBe(false)
    expect(formatVerdict(result)).toMatch(/sse loss rate <= 0: \d+(\.\d+)? %/)
  })
})
