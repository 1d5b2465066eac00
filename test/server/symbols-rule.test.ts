import { describe, expect, test } from 'vitest'
import { startServer } from '../helpers/server.js'
import { openSse, payload } from '../helpers/sse-client.js'
import { wsExchange } from '../helpers/transport-clients.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Every symbol is asked for explicitly (`*`, or a GET without `symbols`); an empty list is
 * TS_ERR_NO_SYMBOLS on every route and over WebSocket, never the whole feed.
 */
const UNIVERSE = 40

interface ErrorBody {
  error: { code: string; message: string }
}

async function expectNoSymbols(response: Response, hint: string): Promise<void> {
  expect(response.status).toBe(400)
  const body = (await response.json()) as ErrorBody
  expect(body.error.code).toBe('TS_ERR_NO_SYMBOLS')
  // The message says what to send instead.
  expect(body.error.message).toContain(hint)
}

describe('an empty watch-list is an error, never every symbol', () => {
  test.each([
    ['an empty body', ''],
    ['{}', '{}'],
    ['{"symbols": []}', '{"symbols": []}'],
    ['{"lastEventId": "1"} (no symbols)', '{"lastEventId": "1"}'],
  ])('POST /v1/stream with %s: 400 TS_ERR_NO_SYMBOLS', async (_name, body) => {
    const server = await startServer({ symbols: UNIVERSE })
    const response = await fetch(`${server.url}/v1/stream`, { method: 'POST', body })
    await expectNoSymbols(response, '"symbols": "*"')
    expect(server.stats().sse.connections).toBe(0)
  })

  test.each(['/v1/stream?symbols=', '/v1/poll?symbols=', '/v1/snapshot?symbols='])(
    'GET %s: 400 TS_ERR_NO_SYMBOLS',
    async (path) => {
      const server = await startServer({ symbols: UNIVERSE })
      await expectNoSymbols(await fetch(`${server.url}${path}`), 'symbols=*')
    },
  )

  test('WebSocket: a subscribe with an empty list or none is answered TS_ERR_NO_SYMBOLS and joins nothing', async () => {
    const server = await startServer({ symbols: UNIVERSE })
    const { received, socket } = await wsExchange(
      server.url,
      ['{"op":"subscribe","symbols":[]}', '{"op":"subscribe","snapshot":false}'],
      2,
    )
    expect(received).toEqual([
      {
        op: 'error',
        code: 'TS_ERR_NO_SYMBOLS',
        message: expect.stringContaining('"symbols": "*"'),
      },
      {
        op: 'error',
        code: 'TS_ERR_NO_SYMBOLS',
        message: expect.stringContaining('"symbols": "*"'),
      },
    ])
    socket.terminate()
  })
})

describe('every symbol, asked for with *', () => {
  test('POST {"symbols": "*"} and GET symbols=* stream every symbol; GET without symbols still does', async () => {
    const server = await startServer({ symbols: UNIVERSE })
    for (const [url, init] of [
      [`${server.url}/v1/stream`, { method: 'POST', body: '{"symbols": "*"}' }],
      [`${server.url}/v1/stream`, { method: 'POST', body: '{"symbols": ["*"]}' }],
      [`${server.url}/v1/stream?symbols=*`, {}],
      [`${server.url}/v1/stream`, {}],
    ] as const) {
      const stream = await openSse(url, init)
      expect(stream.status).toBe(200)
      await waitFor('the snapshot', () => stream.events.length >= 1)
      stream.close()
      const snapshot = payload<{ quotes: unknown[] }>(stream.events[0]!)
      expect(snapshot.quotes.length, `${init.method ?? 'GET'} ${url}`).toBe(UNIVERSE)
    }
  })

  test('/v1/snapshot?symbols=* and /v1/poll?symbols=* cover every symbol', async () => {
    const server = await startServer({ symbols: UNIVERSE })
    const snapshot = (await (await fetch(`${server.url}/v1/snapshot?symbols=*`)).json()) as {
      quotes: unknown[]
    }
    expect(snapshot.quotes.length).toBe(UNIVERSE)
    const poll = (await (await fetch(`${server.url}/v1/poll?symbols=*`)).json()) as {
      events: { data: { quotes: unknown[] } }[]
    }
    expect(poll.events[0]!.data.quotes.length).toBe(UNIVERSE)
  })

  test('WebSocket {"symbols": "*"} subscribes to every symbol', async () => {
    const server = await startServer({ symbols: UNIVERSE })
    const { received, socket } = await wsExchange(
      server.url,
      ['{"op":"subscribe","symbols":"*"}'],
      1,
    )
    socket.terminate()
    expect(received[0]).toEqual({ op: 'subscribed', symbols: '*', head: expect.any(String) })
  })

  test('* mixed with names is refused with the input’s own code', async () => {
    const server = await startServer({ symbols: UNIVERSE })
    const post = await fetch(`${server.url}/v1/stream`, {
      method: 'POST',
      body: '{"symbols": ["*", "AAPL"]}',
    })
    expect(post.status).toBe(400)
    expect(((await post.json()) as ErrorBody).error.code).toBe('TS_ERR_BAD_JSON')
    const get = await fetch(`${server.url}/v1/stream?symbols=AAPL,*`)
    expect(((await get.json()) as ErrorBody).error.code).toBe('TS_ERR_BAD_QUERY')
  })
})
