import { SignJWT } from 'jose'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { ERROR_CODES, type TickstormError } from '../../src/errors.js'
import { resolveServerOptions } from '../../src/server/server-options.js'
import { startServer } from '../helpers/server.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const APP = 'http://app.test'
const OTHER = 'https://other.test:8443'
const EVIL = 'http://evil.test'

/** The CORS headers of a response, absent ones as null. */
function corsOf(headers: Headers) {
  return {
    origin: headers.get('access-control-allow-origin'),
    credentials: headers.get('access-control-allow-credentials'),
    vary: headers.get('vary'),
  }
}

const ECHO_APP = { origin: APP, credentials: 'true', vary: 'Origin' }
const NONE = { origin: null, credentials: null, vary: 'Origin' }

/** Whether a WebSocket upgrade from `origin` opened, or the status it was refused with. */
function upgradeStatus(url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { origin })
    socket.once('open', () => {
      socket.close()
      resolve(101)
    })
    socket.once('unexpected-response', (_request, response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    socket.once('error', reject)
  })
}

describe('CORS with the default "*"', () => {
  test('every answer carries Access-Control-Allow-Origin: * and no credentials, whatever the origin', async () => {
    const server = await startServer()
    const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL`, {
      headers: { origin: EVIL },
    })
    expect(stream.status).toBe(200)
    stream.close()
    expect(corsOf(stream.headers)).toEqual({ origin: '*', credentials: null, vary: null })
    const poll = await fetch(`${server.url}/v1/poll?symbols=AAPL`, { headers: { origin: APP } })
    expect(poll.status).toBe(200)
    expect(corsOf(poll.headers)).toEqual({ origin: '*', credentials: null, vary: null })
    const error = await fetch(`${server.url}/v1/stream?symbols=NOPE1`, { headers: { origin: APP } })
    expect(error.status).toBe(400)
    expect(corsOf(error.headers).origin).toBe('*')
    const preflight = await fetch(`${server.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-headers': 'last-event-id' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-headers')).toBe(
      'Last-Event-ID, Content-Type, Authorization',
    )
  })
})

describe('CORS with an allowlist', () => {
  test('an allowed origin is echoed exactly, with credentials and Vary: Origin, on streams, polls, errors and the page', async () => {
    const server = await startServer({ corsOrigins: [APP, OTHER] })
    const headers = { origin: APP }
    const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL`, { headers })
    expect(stream.status).toBe(200)
    await waitFor('the snapshot', () => stream.events.length >= 1)
    stream.close()
    expect(corsOf(stream.headers)).toEqual(ECHO_APP)
    const posted = await openSse(`${server.url}/v1/stream`, {
      method: 'POST',
      headers: { origin: OTHER },
      body: '{"symbols":["MSFT"]}',
    })
    posted.close()
    expect(corsOf(posted.headers)).toEqual({ origin: OTHER, credentials: 'true', vary: 'Origin' })
    // A parked poll answered later by the fan-out still carries its own request's origin.
    const head = server.feed.headSeq
    const parked = await fetch(`${server.url}/v1/poll?cursor=${head}&timeoutMs=10000`, { headers })
    expect(parked.status).toBe(200)
    expect(corsOf(parked.headers)).toEqual(ECHO_APP)
    expect(((await parked.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0)
    for (const path of ['/v1/snapshot?symbols=NOPE1', '/healthz', '/no/such/route', '/']) {
      const response = await fetch(`${server.url}${path}`, { headers })
      expect(corsOf(response.headers), path).toEqual(ECHO_APP)
    }
  })

  test('a disallowed origin: 403 on /v1/* (no stream at all), elsewhere an answer without ACAO', async () => {
    const server = await startServer({ corsOrigins: [APP] })
    const headers = { origin: EVIL }
    for (const [path, init] of [
      ['/v1/stream?symbols=AAPL', {}],
      ['/v1/stream', { method: 'POST', body: '{}' }],
      ['/v1/poll?symbols=AAPL', {}],
      ['/v1/snapshot?symbols=AAPL', {}],
      ['/v1/symbols', {}],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { ...init, headers })
      expect(response.status, path).toBe(403)
      expect(corsOf(response.headers)).toEqual(NONE)
      const body = (await response.json()) as { error: { code: string; details: unknown } }
      expect(body.error.code).toBe('TS_ERR_FORBIDDEN')
      expect(body.error.details).toEqual({ reason: 'origin' })
    }
    expect(server.stats().sse.opened).toBe(0)
    // Not an API read: answered, and the browser, seeing no ACAO, keeps it from the page.
    const health = await fetch(`${server.url}/healthz`, { headers })
    expect(health.status).toBe(200)
    expect(corsOf(health.headers)).toEqual(NONE)
    // The preflight gets nothing to approve, so the browser never sends the request.
    const preflight = await fetch(`${server.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: { ...headers, 'access-control-request-headers': 'last-event-id' },
    })
    expect(preflight.status).toBe(204)
    expect(corsOf(preflight.headers)).toEqual(NONE)
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull()
  })

  test('no Origin (curl, servers) and the server’s own origin are served; WebSocket upgrades follow the same rule', async () => {
    const server = await startServer({ corsOrigins: [APP] })
    const plain = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`)
    expect(plain.status).toBe(200)
    expect(corsOf(plain.headers)).toEqual(NONE)
    // The demo page this server serves sends its own origin on POSTs and WebSockets.
    const self = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, {
      headers: { origin: server.url },
    })
    expect(self.status).toBe(200)
    expect(corsOf(self.headers).origin).toBe(server.url)
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    expect(await upgradeStatus(wsUrl, APP)).toBe(101)
    expect(await upgradeStatus(wsUrl, server.url)).toBe(101)
    // CORS does not guard WebSocket: without this check any page could open one.
    expect(await upgradeStatus(wsUrl, EVIL)).toBe(403)
  })

  test('the preflight of a cross-origin Last-Event-ID reconnect is approved, and the reconnect resumes', async () => {
    const server = await startServer({ corsOrigins: [APP] })
    const first = await openSse(`${server.url}/v1/stream?symbols=AAPL,MSFT,NVDA`, {
      headers: { origin: APP },
    })
    await waitFor('some events', () => first.events.length >= 4)
    first.close()
    const lastId = first.events.at(-1)!.lastEventId
    // What a browser sends first when the id is not CORS-safe (reference/sse.md §4.3, §4.7).
    const preflight = await fetch(`${server.url}/v1/stream?symbols=AAPL,MSFT,NVDA`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    })
    expect(preflight.status).toBe(204)
    expect(corsOf(preflight.headers)).toEqual(ECHO_APP)
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS')
    const allowHeaders = preflight.headers.get('access-control-allow-headers')!.toLowerCase()
    expect(allowHeaders.split(/,\s*/)).toEqual(
      expect.arrayContaining(['last-event-id', 'authorization']),
    )
    expect(Number(preflight.headers.get('access-control-max-age'))).toBeGreaterThan(0)
    const resumed = await openSse(`${server.url}/v1/stream?symbols=AAPL,MSFT,NVDA`, {
      headers: { origin: APP, 'last-event-id': lastId },
    })
    await waitFor('replayed events', () => resumed.events.length >= 2)
    resumed.close()
    expect(resumed.status).toBe(200)
    expect(corsOf(resumed.headers)).toEqual(ECHO_APP)
    expect(Number(resumed.events[0]!.lastEventId)).toBeGreaterThan(Number(lastId))
    expect(resumed.events[0]!.type).not.toBe('snapshot')
  })

  test('the allowlist is validated: exact origins, "*" alone, never "null"', () => {
    const messageOf = (corsOrigins: unknown): string => {
      try {
        resolveServerOptions({ corsOrigins } as never)
      } catch (error) {
        expect((error as TickstormError).code).toBe(ERROR_CODES.INVALID_OPTIONS)
        return (error as TickstormError).message
      }
      return 'accepted'
    }
    expect(messageOf(['https://app.example.com', 'http://localhost:5173'])).toBe('accepted')
    expect(messageOf(['*', APP])).toContain('"*" must stand alone')
    expect(messageOf(['http://app.test/'])).toContain('`corsOrigins[0]` must be exactly')
    expect(messageOf([APP, 'null'])).toContain('`corsOrigins[1]` must not be "null"')
    expect(messageOf(['ftp://files.test'])).toContain('http or https')
    expect(messageOf([])).toContain('non-empty')
    expect(resolveServerOptions({ corsOrigins: [APP, APP] }).corsOrigins).toEqual([APP])
  })
})

describe('CORS and tokens together', () => {
  test('a cookie token is honoured from an allowlisted origin, which also gets credentials', async () => {
    const secret = 'a-test-secret-that-is-long-enough-32b'
    const server = await startServer({ corsOrigins: [APP], authSecret: secret })
    const token = await new SignJWT({ symbols: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    const response = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, {
      headers: { origin: APP, cookie: `tickstorm_token=${token}` },
    })
    expect(response.status).toBe(200)
    expect(corsOf(response.headers)).toEqual(ECHO_APP)
    const refused = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, {
      headers: { origin: APP },
    })
    expect(refused.status).toBe(401)
    // A cross-origin page can read why (the 401 carries the CORS headers too).
    expect(corsOf(refused.headers)).toEqual(ECHO_APP)
  })
})
