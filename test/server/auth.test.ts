import { randomBytes } from 'node:crypto'
import { exportPKCS8, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { ERROR_CODES, TickstormError } from '../../src/errors.js'
import { resolveServerOptions } from '../../src/server/server-options.js'
import { startServer } from '../helpers/server.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const SECRET = randomBytes(32).toString('base64url')
const nowSec = () => Math.floor(Date.now() / 1000)

async function hs256(claims: JWTPayload, secret = SECRET, expiresInSec = 300): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(nowSec() + expiresInSec)
    .sign(new TextEncoder().encode(secret))
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents and assert on them
type Json = any

/** A request expected to fail: its status, JSON body, raw text and the Bearer challenge. */
async function refused(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init)
  const text = await response.text()
  return {
    status: response.status,
    text,
    body: JSON.parse(text) as Json,
    challenge: response.headers.get('www-authenticate'),
  }
}

/** What a WebSocket upgrade came to: opened, or refused with this status and body. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ opened: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    socket.once('open', () => resolve({ opened: socket }))
    socket.once('unexpected-response', (_request, response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    socket.once('error', reject)
  })
}

/** Sends one message and resolves with the next reply that is not a heartbeat or events. */
function reply(socket: WebSocket, message: unknown): Promise<Json> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData) => {
      const parsed = JSON.parse(raw.toString())
      if (Array.isArray(parsed) || parsed.op === 'hb') return
      socket.off('message', onMessage)
      resolve(parsed)
    }
    socket.on('message', onMessage)
    socket.send(JSON.stringify(message))
  })
}

describe('signed tokens (HS256)', () => {
  test('without a token every subscription endpoint answers 401 with a coded error and a Bearer challenge', async () => {
    const server = await startServer({ authSecret: SECRET })
    const base = server.url
    const answers = await Promise.all([
      refused(`${base}/v1/stream?symbols=AAPL`),
      refused(`${base}/v1/stream`, { method: 'POST', body: '{"symbols":["AAPL"]}' }),
      refused(`${base}/v1/poll?symbols=AAPL&timeoutMs=0`),
      refused(`${base}/v1/snapshot?symbols=AAPL`),
    ])
    for (const answer of answers) {
      expect(answer.status).toBe(401)
      expect(answer.body.error.code).toBe('TS_ERR_UNAUTHORIZED')
      expect(answer.body.error.details).toEqual({ reason: 'missing' })
      expect(answer.challenge).toBe('Bearer realm="tickstorm"')
    }
    // The universe and health stay public: they carry no market data.
    expect((await fetch(`${base}/v1/symbols`)).status).toBe(200)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect(server.stats().auth.unauthorized).toBe(4)
  })

  test('a token in the Authorization header opens a stream limited to its symbols', async () => {
    const server = await startServer({ authSecret: SECRET })
    const token = await hs256({ symbols: ['aapl', 'MSFT'] })
    const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL,MSFT`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    await waitFor('live ticks after the snapshot', () => stream.events.length >= 5, {
      state: () => stream.events.length,
    })
    stream.close()
    expect(stream.events[0]!.type).toBe('snapshot')
    for (const event of stream.events.slice(1)) {
      expect(['AAPL', 'MSFT']).toContain(JSON.parse(event.data).sym)
    }
  })

  test('a token in the tickstorm_token cookie or the access_token query parameter works too', async () => {
    const server = await startServer({ authSecret: SECRET })
    const token = await hs256({ symbols: '*' })
    const byCookie = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, {
      headers: { cookie: `theme=dark; tickstorm_token=${token}` },
    })
    expect(byCookie.status).toBe(200)
    expect(((await byCookie.json()) as Json).quotes[0].sym).toBe('AAPL')
    // EventSource cannot set headers: the query parameter is its way.
    const byQuery = await openSse(`${server.url}/v1/stream?symbols=NVDA&access_token=${token}`)
    expect(byQuery.status).toBe(200)
    await waitFor('ticks by query token', () => byQuery.events.length >= 2)
    byQuery.close()
    const poll = await fetch(`${server.url}/v1/poll?symbols=AAPL&access_token=${token}`)
    expect(poll.status).toBe(200)
    expect(((await poll.json()) as Json).events[0].event).toBe('snapshot')
  })

  test('a cookie is ignored from a cross-origin page under CORS "*": a header or query token is needed', async () => {
    const server = await startServer({ authSecret: SECRET })
    const token = await hs256({ symbols: '*' })
    const answer = await refused(`${server.url}/v1/snapshot?symbols=AAPL`, {
      headers: { cookie: `tickstorm_token=${token}`, origin: 'http://elsewhere.test' },
    })
    expect(answer.status).toBe(401)
    expect(answer.body.error.details.reason).toBe('missing')
    expect(answer.text).not.toContain(token)
  })

  test('expired, wrongly signed, garbled or claim-less tokens get 401 and the token is never echoed', async () => {
    const server = await startServer({ authSecret: SECRET })
    const cases = [
      { token: await hs256({ symbols: '*' }, SECRET, -60), reason: 'expired' },
      {
        token: await hs256({ symbols: '*' }, randomBytes(32).toString('base64url')),
        reason: 'signature',
      },
      { token: 'not.a.jwt', reason: 'malformed' },
      { token: await hs256({ sub: 'someone' }), reason: 'claims' },
      {
        // No exp: a token that never expires is refused.
        token: await new SignJWT({ symbols: '*' })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(SECRET)),
        reason: 'claims',
      },
    ]
    for (const { token, reason } of cases) {
      for (const answer of [
        await refused(`${server.url}/v1/stream?symbols=AAPL`, {
          headers: { authorization: `Bearer ${token}` },
        }),
        await refused(`${server.url}/v1/poll?symbols=AAPL&access_token=${token}`),
      ]) {
        expect(answer.status, reason).toBe(401)
        expect(answer.body.error.code).toBe('TS_ERR_UNAUTHORIZED')
        expect(answer.body.error.details.reason).toBe(reason)
        expect(answer.challenge).toBe('Bearer realm="tickstorm", error="invalid_token"')
        expect(answer.text).not.toContain(token)
        for (const part of token.split('.')) {
          if (part.length > 8) expect(answer.text).not.toContain(part)
        }
      }
    }
  })

  test('symbols outside the claim get 403 TS_ERR_FORBIDDEN naming them; "every symbol" needs "*"', async () => {
    const server = await startServer({ authSecret: SECRET })
    const token = await hs256({ symbols: ['AAPL', 'MSFT'] })
    const headers = { authorization: `Bearer ${token}` }
    const outside = await refused(`${server.url}/v1/stream?symbols=AAPL,NVDA,TSLA`, { headers })
    expect(outside.status).toBe(403)
    expect(outside.body.error.code).toBe('TS_ERR_FORBIDDEN')
    expect(outside.body.error.details.forbidden).toEqual(['NVDA', 'TSLA'])
    expect(outside.text).not.toContain(token)
    const everything = await refused(`${server.url}/v1/stream`, { headers })
    expect(everything.status).toBe(403)
    expect(everything.body.error.details.forbidden).toBe('*')
    const posted = await refused(`${server.url}/v1/stream`, {
      method: 'POST',
      headers,
      body: '{"symbols":["NVDA"]}',
    })
    expect(posted.status).toBe(403)
    const snapshot = await refused(`${server.url}/v1/snapshot?symbols=AMZN`, { headers })
    expect(snapshot.status).toBe(403)
    expect(server.stats().auth.forbidden).toBe(4)
    // POST inside the claim streams.
    const stream = await openSse(`${server.url}/v1/stream`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"symbols":["MSFT"]}',
    })
    expect(stream.status).toBe(200)
    await waitFor('a snapshot', () => stream.events.length >= 1)
    stream.close()
  })

  test('WebSocket: no token → 401 JSON before any upgrade; a token limits what may be subscribed', async () => {
    const server = await startServer({ authSecret: SECRET })
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    const anonymous = await upgrade(wsUrl)
    expect('status' in anonymous && anonymous.status).toBe(401)
    if (!('status' in anonymous)) throw new Error('upgraded without a token')
    expect(JSON.parse(anonymous.body).error.code).toBe('TS_ERR_UNAUTHORIZED')
    expect(server.stats().ws.opened).toBe(0)

    const expired = await hs256({ symbols: '*' }, SECRET, -5)
    const stale = await upgrade(`${wsUrl}?access_token=${expired}`)
    if (!('status' in stale)) throw new Error('upgraded with an expired token')
    expect(stale.status).toBe(401)
    expect(stale.body).not.toContain(expired)

    const token = await hs256({ symbols: ['AAPL'] })
    const opened = await upgrade(wsUrl, { authorization: `Bearer ${token}` })
    if (!('opened' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`)
    const socket = opened.opened
    const forbidden = await reply(socket, { op: 'subscribe', symbols: ['NVDA'] })
    expect(forbidden).toMatchObject({ op: 'error', code: 'TS_ERR_FORBIDDEN' })
    expect(JSON.stringify(forbidden)).not.toContain(token)
    const subscribed = await reply(socket, { op: 'subscribe', symbols: ['aapl'] })
    expect(subscribed).toMatchObject({ op: 'subscribed', symbols: ['AAPL'] })
    socket.close()
  })
})

describe('signed tokens (public keys)', () => {
  for (const alg of ['RS256', 'ES256'] as const) {
    test(`${alg}: a token signed with the private key streams; an HS256 token made from the public key is refused`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
      const pem = await exportSPKI(publicKey)
      const server = await startServer({ authPublicKey: pem })
      const token = await new SignJWT({ symbols: ['AAPL'] })
        .setProtectedHeader({ alg })
        .setExpirationTime('5m')
        .sign(privateKey)
      const stream = await openSse(`${server.url}/v1/stream?symbols=AAPL`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(stream.status).toBe(200)
      await waitFor('ticks', () => stream.events.length >= 3)
      stream.close()
      // Algorithm confusion: the public key's PEM text used as an HMAC secret.
      const forged = await hs256({ symbols: '*' }, pem)
      const answer = await refused(`${server.url}/v1/stream?symbols=AAPL&access_token=${forged}`)
      expect(answer.status).toBe(401)
      expect(answer.body.error.details.reason).toBe('algorithm')
      expect(answer.text).not.toContain(forged)
      // Another key pair's token does not verify.
      const other = await generateKeyPair(alg)
      const stranger = await new SignJWT({ symbols: '*' })
        .setProtectedHeader({ alg })
        .setExpirationTime('5m')
        .sign(other.privateKey)
      const refusedStranger = await refused(`${server.url}/v1/snapshot?access_token=${stranger}`)
      expect(refusedStranger.status).toBe(401)
      expect(refusedStranger.body.error.details.reason).toBe('signature')
    })
  }

  test('both keys configured: each token verifies with the key of its algorithm', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256')
    const server = await startServer({
      authSecret: SECRET,
      authPublicKey: await exportSPKI(publicKey),
    })
    const rs = await new SignJWT({ symbols: '*' })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('5m')
      .sign(privateKey)
    for (const token of [rs, await hs256({ symbols: '*' })]) {
      const response = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(response.status).toBe(200)
    }
  })
})

describe('auth options', () => {
  const problemsOf = (partial: Record<string, unknown>): string => {
    try {
      resolveServerOptions(partial)
    } catch (error) {
      expect(error).toBeInstanceOf(TickstormError)
      expect((error as TickstormError).code).toBe(ERROR_CODES.INVALID_OPTIONS)
      return (error as TickstormError).message
    }
    throw new Error('options were accepted')
  }

  test('a short secret or a private key is refused, described by size and never quoted', async () => {
    const short = 'hunter2-is-not-enough'
    const message = problemsOf({ authSecret: short })
    expect(message).toContain('`authSecret` must be at least 32 bytes')
    expect(message).toContain('21 bytes')
    expect(message).not.toContain(short)
    const { privateKey } = await generateKeyPair('RS256', { extractable: true })
    const privatePem = await exportPKCS8(privateKey)
    const keyMessage = problemsOf({ authPublicKey: privatePem })
    expect(keyMessage).toContain('`authPublicKey` is a private key')
    expect(keyMessage).not.toContain(privatePem.split('\n')[1]!)
    expect(problemsOf({ authPublicKey: 'hello' })).toContain('must be a PEM SPKI public key')
  })

  test('without a key everything stays open, and access_token is accepted and ignored', async () => {
    const server = await startServer()
    const response = await fetch(`${server.url}/v1/snapshot?symbols=AAPL&access_token=whatever`)
    expect(response.status).toBe(200)
    const ws = await upgrade(`${server.url.replace(/^http/, 'ws')}/v1/ws`)
    if (!('opened' in ws)) throw new Error('refused without auth')
    ws.opened.close()
  })
})
