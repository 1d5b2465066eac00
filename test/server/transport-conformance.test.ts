import { describe, expect, test } from 'vitest'
import { startServer } from '../helpers/server.js'
import { openSse } from '../helpers/sse-client.js'
import {
  CONNECT,
  type ReceivedEvent,
  type TransportName,
  wsExchange,
} from '../helpers/transport-clients.js'
import { waitFor } from '../helpers/wait.js'

/**
 * One conformance suite, run unchanged against SSE, long polling and WebSocket with real clients
 * (fetch + the project's parser, fetch in a poll loop, the `ws` package): the three must carry
 * the same events with the same ids and resume the same way.
 */
const TRANSPORTS: TransportName[] = ['sse', 'longpoll', 'ws']
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN']

/** Problems in a received sequence: ids must rise; per symbol, `q` must rise by exactly one. */
function continuity(events: readonly ReceivedEvent[]): string[] {
  const problems: string[] = []
  const lastQ = new Map<string, number>()
  let lastId = -1
  for (const event of events) {
    const id = Number(event.id)
    if (event.type === 'snapshot') {
      for (const quote of event.data.quotes) lastQ.set(quote.sym, quote.q)
      if (id < lastId) problems.push(`snapshot ${id} after ${lastId}`)
      lastId = id
      continue
    }
    if (id <= lastId) problems.push(`id ${id} after ${lastId}`)
    lastId = id
    const previous = lastQ.get(event.data.sym)
    if (previous !== undefined && event.data.q !== previous + 1) {
      problems.push(`${event.data.sym} q ${event.data.q} after ${previous} at id ${id}`)
    }
    lastQ.set(event.data.sym, event.data.q)
  }
  return problems
}

/** The observer's events for `symbols` with ids in (from, to]. */
function expectedBetween(observer: readonly ReceivedEvent[], from: number, to: number) {
  return observer
    .filter((event) => SYMBOLS.includes(event.data.sym))
    .filter((event) => Number(event.id) > from && Number(event.id) <= to)
    .map((event) => `${event.id}:${event.type}:${event.data.sym}:${event.data.q}`)
}

const key = (event: ReceivedEvent) => `${event.id}:${event.type}:${event.data.sym}:${event.data.q}`
const lastId = (events: readonly ReceivedEvent[]) => Number(events.at(-1)?.id ?? 0)

describe.each(TRANSPORTS)('%s conformance', (transport) => {
  const connect = CONNECT[transport]

  test('events arrive in order with no gap, after a first snapshot of the subscribed symbols', async () => {
    const server = await startServer({ ratePerSec: 4000 })
    const client = await connect(server.url, { symbols: SYMBOLS })
    await waitFor('40 events', () => client.events().length >= 40)
    client.close()
    const events = client.events()
    expect(events[0]!.type).toBe('snapshot')
    expect(events[0]!.data.reset).toBe(false)
    expect(events[0]!.data.quotes.map((quote: { sym: string }) => quote.sym)).toEqual([
      'AAPL',
      'MSFT',
      'NVDA',
      'AMZN',
    ])
    for (const event of events.slice(1)) expect(SYMBOLS).toContain(event.data.sym)
    expect(continuity(events)).toEqual([])
  })

  test('a reconnect with the last id resumes with no gap and no duplicate', async () => {
    const server = await startServer({ ratePerSec: 4000 })
    const observer = await CONNECT.sse(server.url, { snapshot: false })
    const first = await connect(server.url, { symbols: SYMBOLS })
    await waitFor('first events', () => first.events().length >= 20)
    first.close()
    const resumeFrom = lastId(first.events())
    await waitFor('the market to move on', () => lastId(observer.events()) > resumeFrom + 300)
    const second = await connect(server.url, { symbols: SYMBOLS, lastEventId: String(resumeFrom) })
    const mark = lastId(observer.events())
    await waitFor('resumed past the seam', () => lastId(second.events()) > mark + 200)
    const upTo = lastId(second.events())
    await waitFor('the observer to catch up', () => lastId(observer.events()) >= upTo)
    second.close()
    observer.close()
    expect(second.events().map(key)).toEqual(expectedBetween(observer.events(), resumeFrom, upTo))
    expect(continuity([...first.events(), ...second.events()])).toEqual([])
  })

  test('an id older than the ring (or malformed) yields a reset snapshot, then live events', async () => {
    const server = await startServer({ ratePerSec: 5000, historyEvents: 50 })
    await waitFor('the ring to wrap', () => server.feed.history.firstSeq > 100)
    for (const id of ['1', 'bogus']) {
      const client = await connect(server.url, { symbols: SYMBOLS, lastEventId: id })
      await waitFor(`snapshot and a live event (id ${id})`, () => client.events().length >= 2)
      client.close()
      const [snapshot, next] = client.events()
      expect(snapshot!.type).toBe('snapshot')
      expect(snapshot!.data.reset).toBe(true)
      expect(snapshot!.id).toBe(String(snapshot!.data.seq))
      expect(Number(next!.id)).toBeGreaterThan(snapshot!.data.seq)
      expect(continuity(client.events())).toEqual([])
    }
  })

  test('keep-alives arrive while nothing matches', async () => {
    const server = await startServer({ ratePerSec: 1, heartbeatMs: 100 })
    const client = await connect(server.url, { symbols: ['AAPL'], pollTimeoutMs: 150 })
    await waitFor('three keep-alives', () => client.keepalives() >= 3)
    client.close()
  })

  test.each(TRANSPORTS.filter((other) => other !== transport))(
    'a client switches to %s mid-stream and resumes by id',
    async (next) => {
      const server = await startServer({ ratePerSec: 4000 })
      const observer = await CONNECT.sse(server.url, { snapshot: false })
      const before = await connect(server.url, { symbols: SYMBOLS })
      await waitFor('events before the switch', () => before.events().length >= 20)
      before.close()
      const switchAt = lastId(before.events())
      const after = await CONNECT[next](server.url, {
        symbols: SYMBOLS,
        lastEventId: String(switchAt),
      })
      await waitFor('events after the switch', () => lastId(after.events()) > switchAt + 300)
      const upTo = lastId(after.events())
      await waitFor('the observer', () => lastId(observer.events()) >= upTo)
      after.close()
      observer.close()
      expect(after.events().map(key)).toEqual(expectedBetween(observer.events(), switchAt, upTo))
    },
  )

  test('POST /v1/drop cuts exactly the named client', async () => {
    const server = await startServer({ ratePerSec: 1 })
    const mine = await connect(server.url, { symbols: ['AAPL'], clientId: `me-${transport}` })
    const other = await connect(server.url, { symbols: ['AAPL'], clientId: 'someone-else' })
    await waitFor('both subscribed', () => mine.events().length >= 1 && other.events().length >= 1)
    if (transport === 'longpoll') {
      await waitFor('both parked', () => server.stats().longpoll.connections === 2)
    }
    const response = await fetch(`${server.url}/v1/drop?client=me-${transport}`, { method: 'POST' })
    expect(await response.json()).toEqual({ client: `me-${transport}`, dropped: 1 })
    await waitFor('the named client cut', () => mine.ended() !== null)
    expect(other.ended()).toBeNull()
    const none = await fetch(`${server.url}/v1/drop?client=nobody`, { method: 'POST' })
    expect(await none.json()).toEqual({ client: 'nobody', dropped: 0 })
    mine.close()
    other.close()
  })

  test('the server shutting down ends the client cleanly', async () => {
    const server = await startServer({ ratePerSec: 1 })
    const client = await connect(server.url, { symbols: ['AAPL'] })
    await waitFor('the first snapshot', () => client.events().length >= 1)
    await server.close()
    await waitFor('the client to see the end', () => client.ended() !== null)
    const ended = client.ended()!
    if (transport === 'ws') expect(ended).toMatchObject({ how: 'close', code: 1001 })
    if (transport === 'sse') expect(ended.how).toBe('end')
    // A long poll's parked request is answered; the next one finds the server gone.
    if (transport === 'longpoll') expect(['error', 'status']).toContain(ended.how)
    client.close()
  })
})

describe('bad input gets a coded error on every transport', () => {
  test('SSE and long polling answer 400 with a JSON code', async () => {
    const server = await startServer()
    for (const path of ['/v1/stream?symbols=NOPE1', '/v1/poll?symbols=NOPE1']) {
      const response = await fetch(`${server.url}${path}`)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'TS_ERR_UNKNOWN_SYMBOL',
      )
    }
    for (const query of ['timeoutMs=-5', 'timeoutMs=soon', 'timeoutMs=999999999', 'cursr=5']) {
      const response = await fetch(`${server.url}/v1/poll?${query}`)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'TS_ERR_BAD_QUERY',
      )
    }
  })

  test('WebSocket answers bad messages with coded error frames and stays usable', async () => {
    const server = await startServer({ ratePerSec: 4000 })
    const { received, socket } = await wsExchange(
      server.url,
      [
        'not json',
        '[1,2]',
        '{"op":"dance"}',
        '{"op":"subscribe","symbols":"AAPL"}',
        '{"op":"subscribe","symbol":["AAPL"]}',
        '{"op":"subscribe","symbols":["AAPL","NOPE1"]}',
        '{"op":"subscribe","symbols":["AAPL"]}',
      ],
      9,
    )
    socket.terminate()
    const codes = received.slice(0, 6).map((message) => (message as { code: string }).code)
    expect(codes).toEqual([
      'TS_ERR_BAD_MESSAGE',
      'TS_ERR_BAD_MESSAGE',
      'TS_ERR_BAD_MESSAGE',
      'TS_ERR_BAD_MESSAGE',
      'TS_ERR_BAD_MESSAGE',
      'TS_ERR_UNKNOWN_SYMBOL',
    ])
    expect(received[6]).toEqual({ op: 'subscribed', symbols: ['AAPL'], head: expect.any(String) })
    expect(Array.isArray(received[7])).toBe(true)
    expect((received[7] as { event: string }[])[0]!.event).toBe('snapshot')
    expect(server.stats().ws.badMessages).toBe(6)
  })
})

describe('long polling specifics', () => {
  test('a poll with events after its cursor answers at once; without, it parks until the next frame', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const sse = await openSse(`${server.url}/v1/stream?snapshot=false`)
    await waitFor('events', () => sse.events.length >= 50)
    const cursor = sse.events[10]!.lastEventId
    const now = await fetch(`${server.url}/v1/poll?cursor=${cursor}&timeoutMs=0`)
    const body = (await now.json()) as { events: { id: string }[]; cursor: string }
    expect(body.events[0]!.id).toBe(sse.events[11]!.lastEventId)
    expect(Number(body.cursor)).toBeGreaterThanOrEqual(Number(sse.events[49]!.lastEventId))
    // At the head: parks, then gets exactly the next frame's events.
    const parked = fetch(`${server.url}/v1/poll?cursor=${server.feed.headSeq}&timeoutMs=5000`)
    const next = (await (await parked).json()) as { events: { id: string }[]; cursor: string }
    expect(next.events.length).toBeGreaterThan(0)
    expect(next.cursor).toBe(next.events.at(-1)!.id)
    sse.close()
  })

  test('parked requests on one subscription share one body; an aborted one is dropped at once', async () => {
    const server = await startServer({ ratePerSec: 1 })
    const controller = new AbortController()
    const head = server.feed.headSeq
    const aborted = fetch(`${server.url}/v1/poll?symbols=AAPL&cursor=${head}&timeoutMs=60000`, {
      signal: controller.signal,
    }).catch(() => null)
    await waitFor('one parked', () => server.stats().longpoll.connections === 1)
    controller.abort()
    await aborted
    await waitFor('the aborted poll dropped', () => server.stats().longpoll.connections === 0)
    const polls = [0, 1, 2].map(() =>
      fetch(`${server.url}/v1/poll?symbols=AAPL&cursor=${head}&timeoutMs=300`).then((response) =>
        response.text(),
      ),
    )
    const bodies = await Promise.all(polls)
    expect(new Set(bodies).size).toBe(1)
  })

  test('too many parked polls get 503 with Retry-After, never a hang', async () => {
    const server = await startServer({ ratePerSec: 1, maxParkedPolls: 2 })
    const head = server.feed.headSeq
    const url = `${server.url}/v1/poll?symbols=AAPL&cursor=${head}&timeoutMs=2000`
    const parked = [fetch(url), fetch(url)]
    await waitFor('two parked', () => server.stats().longpoll.connections === 2)
    const third = await fetch(url)
    expect(third.status).toBe(503)
    expect(third.headers.get('retry-after')).toBe('1')
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe(
      'TS_ERR_OVERLOADED',
    )
    await Promise.all(parked)
  })
})
