import { describe, expect, test } from 'vitest'
import { rawExchange } from '../helpers/raw-connection.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents and assert on them
type Json = any

async function getJson(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init)
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json,
  }
}

describe('HTTP API', () => {
  test('raw GET /v1/stream: status line, exactly one lowercase content type, chunked, no content-length', async () => {
    const server = await startServer({ retryMs: 2500 })
    const text = await rawExchange(
      server.port,
      'GET /v1/stream?symbols=AAPL HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
      (t) => t.includes('retry: 2500\n'),
    )
    const [head, body] = text.split('\r\n\r\n') as [string, string]
    const lines = head.split('\r\n')
    expect(lines[0]).toBe('HTTP/1.1 200 OK')
    const headers = lines.slice(1).map((line) => line.toLowerCase())
    expect(headers.filter((h) => h.startsWith('content-type:'))).toEqual([
      'content-type: text/event-stream; charset=utf-8',
    ])
    expect(headers).toContain('cache-control: no-store, no-transform')
    expect(headers).toContain('x-accel-buffering: no')
    expect(headers).toContain('transfer-encoding: chunked')
    expect(headers.some((h) => h.startsWith('content-length:'))).toBe(false)
    // First chunk: the retry line, then the comment, both before any tick.
    expect(body).toMatch(/^[0-9a-f]+\r\nretry: 2500\n:connected seq=\d+\n\n/)
  })

  test('GET /v1/snapshot returns the latest values of the asked symbols', async () => {
    const server = await startServer()
    await waitFor('some ticks', () => server.feed.headSeq > 10)
    const { status, body } = await getJson(`${server.url}/v1/snapshot?symbols=MSFT,AAPL`)
    expect(status).toBe(200)
    expect(body.reset).toBe(false)
    expect(body.seq).toBeGreaterThan(10)
    expect(body.quotes.map((quote: { sym: string }) => quote.sym)).toEqual(['AAPL', 'MSFT'])
    for (const quote of body.quotes) {
      expect(quote.ap).toBeGreaterThan(quote.bp)
      expect(quote.bs).toBeGreaterThan(0)
    }
  })

  test('GET /v1/symbols lists the universe; GET /healthz reports status and pacing', async () => {
    const server = await startServer({ symbols: 120 })
    const symbols = await getJson(`${server.url}/v1/symbols`)
    expect(symbols.status).toBe(200)
    expect(symbols.body.count).toBe(120)
    expect(symbols.body.symbols).toHaveLength(120)
    expect(symbols.body.symbols[0].symbol).toBe('AAPL')
    const health = await getJson(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect(health.body.status).toBe('ok')
    expect(health.body.symbols).toBe(120)
    expect(typeof health.body.pacing.maxLagMs).toBe('number')
  })

  test('OPTIONS answers the CORS preflight a cross-origin reconnect may send', async () => {
    const server = await startServer()
    const response = await fetch(`${server.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-headers')).toContain('Last-Event-ID')
  })
})

describe('bad input gets a coded JSON error and never hurts the server', () => {
  const cases: {
    name: string
    path: string
    init?: RequestInit
    status: number
    code: string
  }[] = [
    {
      name: 'unknown symbol',
      path: '/v1/stream?symbols=AAPL,NOPE1',
      status: 400,
      code: 'TS_ERR_UNKNOWN_SYMBOL',
    },
    { name: 'empty symbols', path: '/v1/stream?symbols=', status: 400, code: 'TS_ERR_NO_SYMBOLS' },
    {
      name: 'empty name in list',
      path: '/v1/stream?symbols=AAPL,,MSFT',
      status: 400,
      code: 'TS_ERR_BAD_QUERY',
    },
    {
      name: 'unknown parameter',
      path: '/v1/stream?symbol=AAPL',
      status: 400,
      code: 'TS_ERR_BAD_QUERY',
    },
    {
      name: 'repeated parameter',
      path: '/v1/stream?symbols=AAPL&symbols=MSFT',
      status: 400,
      code: 'TS_ERR_BAD_QUERY',
    },
    { name: 'bad flag', path: '/v1/stream?snapshot=maybe', status: 400, code: 'TS_ERR_BAD_QUERY' },
    {
      name: 'snapshot unknown symbol',
      path: '/v1/snapshot?symbols=ZZZZZZ',
      status: 400,
      code: 'TS_ERR_UNKNOWN_SYMBOL',
    },
    {
      name: 'POST bad JSON',
      path: '/v1/stream',
      init: { method: 'POST', body: '{"symbols": [' },
      status: 400,
      code: 'TS_ERR_BAD_JSON',
    },
    {
      name: 'POST wrong shape',
      path: '/v1/stream',
      init: { method: 'POST', body: '{"symbols": "AAPL"}' },
      status: 400,
      code: 'TS_ERR_BAD_JSON',
    },
    {
      name: 'POST unknown key',
      path: '/v1/stream',
      init: { method: 'POST', body: '{"symbol": ["AAPL"]}' },
      status: 400,
      code: 'TS_ERR_BAD_JSON',
    },
    {
      name: 'POST array body',
      path: '/v1/stream',
      init: { method: 'POST', body: '["AAPL"]' },
      status: 400,
      code: 'TS_ERR_BAD_JSON',
    },
    {
      name: 'POST empty symbol name',
      path: '/v1/stream',
      init: { method: 'POST', body: '{"symbols": ["AAPL", " "]}' },
      status: 400,
      code: 'TS_ERR_BAD_JSON',
    },
    {
      name: 'POST unknown symbol',
      path: '/v1/stream',
      init: { method: 'POST', body: '{"symbols": ["AAPL", "XX_1"]}' },
      status: 400,
      code: 'TS_ERR_UNKNOWN_SYMBOL',
    },
    {
      name: 'POST body too large',
      path: '/v1/stream',
      init: { method: 'POST', body: JSON.stringify({ symbols: new Array(20_000).fill('AAPL') }) },
      status: 413,
      code: 'TS_ERR_BODY_TOO_LARGE',
    },
    { name: 'unknown route', path: '/v2/nothing', status: 404, code: 'TS_ERR_NOT_FOUND' },
    {
      name: 'wrong method',
      path: '/v1/symbols',
      init: { method: 'DELETE' },
      status: 405,
      code: 'TS_ERR_METHOD_NOT_ALLOWED',
    },
  ]

  test.each(cases)('$name → $status $code', async ({ path, init, status, code }) => {
    const server = await startServer()
    const { status: got, headers, body } = await getJson(`${server.url}${path}`, init)
    expect(got).toBe(status)
    expect(headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(body.error.code).toBe(code)
    expect(typeof body.error.message).toBe('string')
    // Still serving.
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
  })

  test('the unknown-symbol error names the bad symbols', async () => {
    const server = await startServer()
    const { body } = await getJson(`${server.url}/v1/stream?symbols=AAPL,NOPE1,NOPE2`)
    expect(body.error.details.unknown).toEqual(['NOPE1', 'NOPE2'])
    expect(body.error.message).toContain('"NOPE1"')
  })

  test('405 says which methods are allowed', async () => {
    const server = await startServer()
    const { headers } = await getJson(`${server.url}/v1/stream`, { method: 'PUT' })
    expect(headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS')
  })
})
