import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { ERROR_CODES } from '../../../src/errors.js'
import type {
  PublishedTick,
  PublishRequest,
  TargetAdapter,
} from '../../../src/harness/targets/adapter.js'
import {
  encodeWebSocketEvent,
  parseWebSocketEvents,
} from '../../../src/harness/targets/grip-origin.js'
import {
  createPushpinAdapter,
  type PushpinTargetConfig,
} from '../../../src/harness/targets/pushpin.js'
import { fillTemplate, symbolsText, withQuery } from '../../../src/harness/targets/wire-spec.js'
import type { Tick } from '../../../src/market/types.js'
import { encodeTickJson } from '../../../src/wire/tick-json.js'
import { freePort } from '../../helpers/free-port.js'
import { type PushpinPeer, startPushpin } from '../../helpers/peers.js'
import { waitForAsync } from '../../helpers/wait-async.js'

/**
 * The Pushpin adapter against Debian's Pushpin: the adapter's own GRIP origin (`attach()`) is what
 * Pushpin's routes point at, subscribers connect the way the adapter's `wire` says, and the
 * adapter's `publish()` requests, sent to its `publishUrl`, reach every SSE stream and WebSocket
 * as the events the harness reads: each symbol's ticks, in order, with their `q`.
 */

const SYMBOLS = ['AAPL', 'MSFT']

/** A tick of `kind` for one symbol, as the harness's publisher hands it to `publish()`. */
function published(id: number, symbol: string, q: number, kind: Tick['kind']): PublishedTick {
  const base = { symbol: SYMBOLS.indexOf(symbol), seq: q, simTimeUs: 34_200_000_000 + id }
  const tick: Tick =
    kind === 'quote'
      ? { ...base, kind, bid: 1_891_200, bidSize: 100, ask: 1_891_300, askSize: 200 }
      : kind === 'trade'
        ? { ...base, kind, price: 1_891_250, size: 50, conditions: [0] }
        : { ...base, kind, status: 'halted', reason: 'luld' }
  return {
    symbol,
    q,
    id,
    type: kind,
    data: encodeTickJson(tick, symbol, 1_765_000_000_000_000 + id),
  }
}

/** Three frames: both symbols, several ticks of one symbol in a frame, every event type. */
const FRAMES: PublishedTick[][] = [
  [published(1, 'AAPL', 1, 'quote'), published(2, 'MSFT', 1, 'trade')],
  [
    published(3, 'AAPL', 2, 'quote'),
    published(4, 'AAPL', 3, 'trade'),
    published(5, 'MSFT', 2, 'quote'),
  ],
  [published(6, 'MSFT', 3, 'status'), published(7, 'AAPL', 4, 'quote')],
]
const EXPECTED = FRAMES.flat().map((tick) => ({ sym: tick.symbol, q: tick.q }))

/**
 * `count` quotes, q and id 1…count, of `symbolOf(q)`: a frame far past one publish body (the q
 * counts across symbols here, which no test reads as a per-symbol sequence).
 */
function bigFrame(count: number, symbolOf: (q: number) => string): PublishedTick[] {
  return Array.from({ length: count }, (_, i) => {
    const q = i + 1
    const symbol = symbolOf(q)
    const tick: Tick = {
      kind: 'quote',
      symbol: 0,
      seq: q,
      simTimeUs: 34_200_000_000 + q,
      bid: 1_891_200,
      bidSize: 100,
      ask: 1_891_300,
      askSize: 200,
    }
    return {
      symbol,
      q,
      id: q,
      type: 'quote',
      data: encodeTickJson(tick, symbol, 1_765_000_000_000_000 + q),
    }
  })
}

interface Received {
  readonly sym: string
  readonly q: number
}

function readTick(data: string): Received {
  const payload = JSON.parse(data) as { sym: string; q: number }
  return { sym: payload.sym, q: payload.q }
}

async function send(adapter: TargetAdapter, request: PublishRequest): Promise<void> {
  const response = await fetch(`${adapter.publishUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`publish: HTTP ${response.status} ${text}`)
}

/** A subscriber's path for `symbols`, the adapter's way. */
function pathFor(adapter: TargetAdapter, template: string, symbols: readonly string[]): string {
  const { wire } = adapter
  return withQuery(fillTemplate(template, { symbols: symbolsText(wire, symbols, []) }), wire.query)
}

describe('the Pushpin adapter, as data', () => {
  const config: PushpinTargetConfig = {
    url: 'http://127.0.0.1:7999',
    publishUrl: 'http://127.0.0.1:5561/',
    headers: { 'X-Run': 'r1' },
    query: { key: 'k' },
  }

  test('describes Pushpin: harness-fed, SSE and WebSocket on /sub/{symbols}, no resume, 20 channels', async () => {
    const adapter = createPushpinAdapter(config)
    expect(adapter.kind).toBe('pushpin')
    expect(adapter.transports).toEqual(['sse', 'eventsource', 'ws'])
    expect([adapter.defaultSource, adapter.sources]).toEqual(['harness', ['harness']])
    expect(adapter.channelsPerConnection).toBe(20)
    expect(adapter.publishUrl).toBe('http://127.0.0.1:5561')
    expect(adapter.wire.sse).toEqual({ path: '/sub/{symbols}', resume: 'none' })
    expect(adapter.wire.ws).toMatchObject({
      path: '/sub/{symbols}',
      subscribe: null,
      frames: 'message',
    })
    expect(adapter.wire.longpoll).toBeNull()
    expect([adapter.wire.headers, adapter.wire.query]).toEqual([{ 'X-Run': 'r1' }, { key: 'k' }])
    expect(pathFor(adapter, adapter.wire.sse!.path, ['AAPL', 'BRK.B'])).toBe(
      '/sub/AAPL,BRK.B?key=k',
    )
    expect(await adapter.universe('http://127.0.0.1:7999', undefined)).toBeNull()
    expect(await adapter.heads('http://127.0.0.1:7999', SYMBOLS, undefined)).toBeNull()
  })

  test('publishes a frame as one request, every tick an item in both formats and without a Pushpin id', () => {
    const adapter = createPushpinAdapter(config)
    expect(adapter.publish!([])).toEqual([])
    const requests = adapter.publish!(FRAMES[0]!)
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/publish/',
      headers: { 'Content-Type': 'application/json' },
    })
    const [aapl, msft] = FRAMES[0]!
    expect(JSON.parse(requests[0]!.body)).toEqual({
      items: [
        {
          channel: 'AAPL',
          formats: {
            'http-stream': { content: `id: 1\nevent: quote\ndata: ${aapl!.data}\n\n` },
            'ws-message': { content: aapl!.data },
          },
        },
        {
          channel: 'MSFT',
          formats: {
            'http-stream': { content: `id: 2\nevent: trade\ndata: ${msft!.data}\n\n` },
            'ws-message': { content: msft!.data },
          },
        },
      ],
    })
  })

  test("splits a frame whose body would pass Pushpin's 1,000,000 bytes, keeping tick order", () => {
    const adapter = createPushpinAdapter(config)
    const ticks = bigFrame(6000, () => 'AAPL')
    const requests = adapter.publish!(ticks)
    expect(requests.length).toBeGreaterThan(1)
    for (const request of requests) {
      expect(Buffer.byteLength(request.body)).toBeLessThanOrEqual(1_000_000)
    }
    const items = requests.flatMap(
      (request) =>
        (
          JSON.parse(request.body) as {
            items: { formats: { 'ws-message': { content: string } } }[]
          }
        ).items,
    )
    expect(items.map((item) => item.formats['ws-message'].content)).toEqual(
      ticks.map((tick) => tick.data),
    )
  })

  test('refuses a config it cannot use, naming every problem', () => {
    const bad = () =>
      createPushpinAdapter({
        url: 'ws://x',
        publishUrl: 'nope',
        origin: '127.0.0.1',
        channelsPerConnection: 0,
      })
    expect(bad).toThrow(
      expect.objectContaining({
        code: ERROR_CODES.INVALID_OPTIONS,
        details: {
          problems: [
            expect.stringContaining('`target.url`'),
            expect.stringContaining('`target.publishUrl`'),
            expect.stringContaining('`target.origin`'),
            expect.stringContaining('`target.channelsPerConnection`'),
          ],
        },
      }),
    )
    expect(createPushpinAdapter({ ...config, origin: '[::1]:8000' }).kind).toBe('pushpin')
  })

  test('reads and writes the WebSocket-over-HTTP event format byte-exactly', () => {
    const body = Buffer.from('OPEN\r\nTEXT 5\r\nhello\r\nPING\r\nCLOSE 2\r\n\x03\xe8\r\n', 'latin1')
    const events = parseWebSocketEvents(body)
    expect(events?.map((event) => [event.type, event.content?.toString('latin1') ?? null])).toEqual(
      [
        ['OPEN', null],
        ['TEXT', 'hello'],
        ['PING', null],
        ['CLOSE', '\x03\xe8'],
      ],
    )
    const text = encodeWebSocketEvent('TEXT', Buffer.from('c:{"a":"é"}'))
    expect(text.toString()).toBe('TEXT c\r\nc:{"a":"é"}\r\n')
    expect(parseWebSocketEvents(Buffer.from('TEXT 6\r\nhello\r\n'))).toBeNull()
    expect(parseWebSocketEvents(Buffer.from('OPEN'))).toBeNull()
  })
})

describe('the Pushpin adapter against Debian Pushpin', () => {
  let pushpin: PushpinPeer
  let adapter: TargetAdapter
  let attached: { close(): Promise<void> } | null = null

  beforeAll(async () => {
    const originPort = await freePort()
    pushpin = await startPushpin({ originPort })
    adapter = createPushpinAdapter({
      url: pushpin.url,
      publishUrl: pushpin.controlUrl,
      origin: `127.0.0.1:${originPort}`,
      query: { run: 'adapter-test' },
    })
    attached = await adapter.attach()
    await pushpin.ready()
  })

  afterAll(async () => {
    await attached?.close()
    await pushpin?.stop()
  })

  test('a second origin on the same port fails as LISTEN_FAILED', async () => {
    await expect(adapter.attach()).rejects.toMatchObject({ code: ERROR_CODES.LISTEN_FAILED })
  })

  test('an SSE stream and a WebSocket get every published tick, in order, with its q', async () => {
    const before = SYMBOLS.map((symbol) => pushpin.subscriptions(symbol))
    const streamEvents: (Received & { id: string; type: string })[] = []
    const source = new EventSource(
      `${pushpin.url}${pathFor(adapter, adapter.wire.sse!.path, SYMBOLS)}`,
    )
    for (const type of ['quote', 'trade', 'status']) {
      source.addEventListener(type, (event) =>
        streamEvents.push({ ...readTick(event.data), id: event.lastEventId, type }),
      )
    }
    const socketEvents: Received[] = []
    const wsUrl = `${pushpin.url.replace(/^http/, 'ws')}${pathFor(adapter, adapter.wire.ws!.path, SYMBOLS)}`
    const socket = new WebSocket(wsUrl, [...adapter.wire.ws!.protocols], {
      headers: adapter.wire.headers,
    })
    socket.on('message', (data) => socketEvents.push(readTick(String(data))))
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve())
        socket.once('error', reject)
      })
      // Both connections are open before the handler has subscribed them: wait for its word.
      await waitForAsync(
        'the handler to subscribe the stream and the socket to both symbols',
        async () => SYMBOLS.every((symbol, i) => pushpin.subscriptions(symbol) === before[i]! + 2),
      )
      for (const frame of FRAMES) {
        const requests = adapter.publish!(frame)
        expect(requests).toHaveLength(1)
        await send(adapter, requests[0]!)
      }
      await waitForAsync(
        `${EXPECTED.length} events on the stream and on the socket`,
        async () =>
          streamEvents.length >= EXPECTED.length && socketEvents.length >= EXPECTED.length,
        { state: () => ({ stream: streamEvents.length, socket: socketEvents.length }) },
      )
    } finally {
      source.close()
      socket.close()
    }
    expect(streamEvents.map(({ sym, q }) => ({ sym, q }))).toEqual(EXPECTED)
    expect(streamEvents.map(({ id, type }) => [id, type])).toEqual(
      FRAMES.flat().map((tick) => [String(tick.id), tick.type]),
    )
    expect(socketEvents).toEqual(EXPECTED)
  })

  test('a frame sent as several requests arrives whole and in order', async () => {
    // Every 100th tick is BIG's, the rest go to a channel nobody reads: a stream takes at most 100
    // queued messages and drops the rest, so a burst of 6000 to one stream would test that instead.
    const frame = bigFrame(6000, (q) => (q % 100 === 1 ? 'BIG' : 'UNREAD'))
    const expected = frame.filter((tick) => tick.symbol === 'BIG').map((tick) => tick.q)
    const received: number[] = []
    const source = new EventSource(
      `${pushpin.url}${pathFor(adapter, adapter.wire.sse!.path, ['BIG'])}`,
    )
    source.addEventListener('quote', (event) => received.push(readTick(event.data).q))
    try {
      await waitForAsync(
        'the handler to subscribe the stream to BIG',
        async () => pushpin.subscriptions('BIG') === 1,
      )
      const requests = adapter.publish!(frame)
      expect(requests.length).toBeGreaterThan(1)
      for (const request of requests) await send(adapter, request)
      await waitForAsync(
        `${expected.length} events`,
        async () => received.length >= expected.length,
        {
          state: () => received.length,
        },
      )
    } finally {
      source.close()
    }
    expect(received).toEqual(expected)
  })

  test('a run right after another, its tick ids starting again at 1, is delivered too', async () => {
    const received: number[] = []
    const source = new EventSource(
      `${pushpin.url}${pathFor(adapter, adapter.wire.sse!.path, ['IBM'])}`,
    )
    source.addEventListener('quote', (event) => received.push(Number(event.lastEventId)))
    try {
      await waitForAsync(
        'the handler to subscribe the stream to IBM',
        async () => pushpin.subscriptions('IBM') === 1,
      )
      const run = (): PublishedTick[] =>
        [1, 2].map((id) => ({
          symbol: 'IBM',
          q: id,
          id,
          type: 'quote',
          data: `{"ts":${id},"sym":"IBM","q":${id}}`,
        }))
      for (const _ of ['first run', 'second run']) await send(adapter, adapter.publish!(run())[0]!)
      await waitForAsync('4 events', async () => received.length >= 4, { state: () => received })
    } finally {
      source.close()
    }
    expect(received).toEqual([1, 2, 1, 2])
  })

  test('a wider watch-list than channelsPerConnection gets only its first 20 symbols', async () => {
    const symbols = Array.from({ length: adapter.channelsPerConnection! + 1 }, (_, i) => `S${i}`)
    const last = symbols.at(-1)!
    const received: string[] = []
    const source = new EventSource(
      `${pushpin.url}${pathFor(adapter, adapter.wire.sse!.path, symbols)}`,
    )
    source.addEventListener('quote', (event) => received.push(readTick(event.data).sym))
    try {
      await waitForAsync('the handler to subscribe the stream to its first 20 symbols', async () =>
        symbols.slice(0, -1).every((symbol) => pushpin.subscriptions(symbol) === 1),
      )
      const tick = (id: number, symbol: string): PublishedTick => ({
        symbol,
        q: 1,
        id,
        type: 'quote',
        data: `{"ts":${id},"sym":"${symbol}","q":1}`,
      })
      // Every symbol once, then the first again: its arrival means the one before it was passed.
      await send(adapter, adapter.publish!(symbols.map((symbol, i) => tick(100 + i, symbol)))[0]!)
      await send(adapter, adapter.publish!([tick(200, 'S0')])[0]!)
      await waitForAsync('the second S0 event', async () => received.lastIndexOf('S0') > 0, {
        state: () => received,
      })
    } finally {
      source.close()
    }
    expect(pushpin.subscriptions(last)).toBe(0)
    expect(received).toEqual([...symbols.slice(0, -1), 'S0'])
  })
})
