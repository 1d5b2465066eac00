import { createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFile } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { mintSubscriberToken } from '../../src/harness/subscriber-token.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

// With a key configured, the WebSocket upgrade waits for jose (asynchronous) before `res.upgrade`:
// the path uWS's rules are about (onAborted first, the late upgrade uncorked: request-flow.ts,
// LateAnswer; nothing after an abort, no socket opened once the server drains). These tests hold
// it to what a client sees: every upgraded socket lives to answer its first subscribe (tokens
// minted as the harness mints them, in bursts like a ramp-up's), a give-up leaves no slot taken,
// and a check that ends while the server drains is refused with 503 rather than opened and then
// cut without a close frame.

const SECRET = randomBytes(32).toString('base64url')
const CONNECTS = 200
const BURST = 20
/** Per socket: from `new WebSocket` to its first message (loopback; a slow run still fits). */
const DEADLINE_MS = 5000

/** What one connection came to, from the client's side. */
interface Outcome {
  readonly opened: boolean
  /** The server's first message, or null when the socket ended (or timed out) without one. */
  readonly first: string | null
  /** The close code when the socket ended before its first message (1006: no close frame). */
  readonly closeCode: number | null
  /** From open to that close, in ms (-1 when it never opened). */
  readonly closedAfterOpenMs: number
  readonly error: string | null
}

/**
 * Connects as the harness's WebSocket engine does (token in `Authorization`, no compression,
 * subscribe on open) and settles at the first message, at an early close, or at the deadline.
 */
function connectAndSubscribe(url: string, token: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      headers: { Authorization: `Bearer ${token}` },
    })
    let openedAt = -1
    let error: string | null = null
    let settled = false
    const settle = (first: string | null, closeCode: number | null) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      socket.terminate()
      resolve({
        opened: openedAt >= 0,
        first,
        closeCode,
        closedAfterOpenMs: openedAt >= 0 ? Math.round(performance.now() - openedAt) : -1,
        error,
      })
    }
    const deadline = setTimeout(() => settle(null, null), DEADLINE_MS)
    socket.on('open', () => {
      openedAt = performance.now()
      socket.send(JSON.stringify({ op: 'subscribe', symbols: ['AAPL'] }))
    })
    socket.on('message', (raw: WebSocket.RawData) => settle(raw.toString(), null))
    socket.on('error', (cause) => {
      error = cause.message
    })
    socket.on('close', (code) => settle(null, code))
  })
}

/** `count` connects, `BURST` at a time, each with a token from `mint`. */
async function connectInBursts(url: string, count: number, mint: () => string) {
  const outcomes: Outcome[] = []
  for (let done = 0; done < count; done += BURST) {
    const burst = Array.from({ length: Math.min(BURST, count - done) }, () =>
      connectAndSubscribe(url, mint()),
    )
    outcomes.push(...(await Promise.all(burst)))
  }
  return outcomes
}

/** An HS256 token with exactly these claims (the harness's minting, with claims of our choice). */
function hs256(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

const nowSec = () => Date.now() / 1000

describe('WebSocket upgrade behind a token check (authSecret)', () => {
  test(`${CONNECTS} upgrades with fresh harness tokens, ${BURST} at a time: every socket answers its first subscribe, none ends before`, async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    const url = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    const outcomes = await connectInBursts(url, CONNECTS, () =>
      mintSubscriberToken(SECRET, ['AAPL'], 60),
    )
    const endedEarly = outcomes.filter((outcome) => outcome.first === null)
    expect(endedEarly, 'sockets that ended (or timed out) before their first message').toEqual([])
    for (const outcome of outcomes) {
      expect(JSON.parse(outcome.first!)).toMatchObject({ op: 'subscribed', symbols: ['AAPL'] })
    }
    expect(server.stats().ws.opened).toBe(CONNECTS)
    expect(server.stats().auth).toEqual({ unauthorized: 0, forbidden: 0 })
    await waitFor('every socket closed on the server', () => server.stats().ws.connections === 0, {
      state: () => server.stats().ws,
    })
    expect(server.stats().ws.closed).toBe(CONNECTS)
  }, 60_000)

  test('a token minted in the same second is admitted whatever its iat rounds to (iat is not checked; nbf now is valid)', async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    const url = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    const claims = [
      // The harness's rounding (down), a minter whose iat is ahead of the server's clock (up to
      // 2 s), and
      // nbf at the current second.
      () => ({ symbols: ['AAPL'], iat: Math.floor(nowSec()), exp: Math.floor(nowSec()) + 60 }),
      () => ({ symbols: ['AAPL'], iat: Math.ceil(nowSec()) + 1, exp: Math.ceil(nowSec()) + 60 }),
      () => ({ symbols: ['AAPL'], nbf: Math.floor(nowSec()), exp: Math.floor(nowSec()) + 60 }),
    ]
    let next = 0
    const outcomes = await connectInBursts(url, 3 * BURST, () => hs256(claims[next++ % 3]!()))
    expect(outcomes.filter((outcome) => outcome.first === null)).toEqual([])
    expect(server.stats().auth.unauthorized).toBe(0)
  }, 60_000)

  test('clients that give up around the token check hold no connection slot afterwards', async () => {
    const LIMIT = 5
    const server = await startServer({
      authSecret: SECRET,
      ratePerSec: 2000,
      maxConnections: LIMIT,
    })
    const { port } = new URL(server.url)
    const url = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    const GIVE_UPS = 40
    // Half send the upgrade request and reset at once, while jose is still checking (the server
    // drops it on onAborted, or upgrades and then sees the reset); half reset as soon as the 101
    // arrives (upgraded, then closed). Either way the slot must come back.
    const resetWhileChecking = () =>
      new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          const key = randomBytes(16).toString('base64')
          const token = mintSubscriberToken(SECRET, ['AAPL'], 60)
          socket.write(
            `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
              `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n` +
              `Authorization: Bearer ${token}\r\n\r\n`,
            () => socket.resetAndDestroy(),
          )
        })
        socket.on('error', () => undefined)
        socket.on('close', () => resolve())
      })
    const resetOnUpgrade = () =>
      new Promise<boolean>((resolve) => {
        const socket = new WebSocket(url, {
          headers: { Authorization: `Bearer ${mintSubscriberToken(SECRET, ['AAPL'], 60)}` },
        })
        let upgraded = false
        socket.on('upgrade', () => {
          upgraded = true
          socket.terminate()
        })
        socket.on('error', () => undefined)
        socket.on('close', () => resolve(upgraded))
      })
    // One at a time for the upgraded ones: at most one slot is in use when the next asks.
    await Promise.all(Array.from({ length: GIVE_UPS / 2 }, resetWhileChecking))
    let upgraded = 0
    for (let i = 0; i < GIVE_UPS / 2; i++) if (await resetOnUpgrade()) upgraded++
    expect(upgraded).toBe(GIVE_UPS / 2)
    await waitFor('no socket left open', () => server.stats().ws.connections === 0, {
      state: () => server.stats().ws,
    })
    expect(server.stats().ws.opened).toBe(server.stats().ws.closed)
    expect(server.stats().ws.opened).toBeGreaterThanOrEqual(GIVE_UPS / 2)
    // A slot leaked by any of them would turn one of these away with 503.
    const outcomes = await Promise.all(
      Array.from({ length: LIMIT }, () =>
        connectAndSubscribe(url, mintSubscriberToken(SECRET, ['AAPL'], 60)),
      ),
    )
    expect(outcomes.map((outcome) => outcome.error)).toEqual(Array(LIMIT).fill(null))
    expect(outcomes.filter((outcome) => outcome.first === null)).toEqual([])
    expect(server.stats().ws.rejected).toBe(0)
  }, 60_000)

  test('an upgrade whose token check ends after the server began draining is refused with 503, not opened and then cut without a close frame', async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    const { port } = new URL(server.url)
    const upgrading = await rawConnection(Number(port))
    const fence = await rawConnection(Number(port))
    const markerDir = mkdtempSync(join(tmpdir(), 'ws-auth-upgrade-'))
    const marker = join(markerDir, 'queued-after-the-token')
    // jose's HMAC runs on libuv's threadpool: fill every thread with a job of ~150 ms, so the
    // token check waits in the queue behind them while the server starts to drain.
    const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4)
    const calibrateFrom = performance.now()
    pbkdf2Sync('x', 'salt', 20_000, 32, 'sha256')
    const iterations = Math.ceil((20_000 * 150) / Math.max(performance.now() - calibrateFrom, 1))
    for (let i = 0; i < threads; i++) pbkdf2('x', 'salt', iterations, 32, 'sha256', () => undefined)
    const key = randomBytes(16).toString('base64')
    const token = mintSubscriberToken(SECRET, ['AAPL'], 60)
    // Both requests land in one read of the server's loop: once the fence's answer is here, the
    // upgrade's token check is queued on the threadpool.
    upgrading.socket.write(
      `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Authorization: Bearer ${token}\r\n\r\n`,
    )
    fence.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
    await waitFor('the fence request answered', () => fence.received().length > 0)
    expect(upgrading.received().length, 'the token check was still held').toBe(0)
    // A file write queued behind the token check: once it has begun, the check has run, and its
    // answer waits for the loop. Holding the loop until then (bounded), then starting the close,
    // puts the answer after the drain began and before the server's close of every socket: the
    // window a slow token check falls into.
    writeFile(marker, '', () => undefined)
    const holdUntil = performance.now() + 5000
    while (!existsSync(marker) && performance.now() < holdUntil) {
      // The loop is held on purpose: the order of the next turn is the test.
    }
    expect(existsSync(marker), 'the threadpool got to the queued write').toBe(true)
    const settleUntil = performance.now() + 20
    while (performance.now() < settleUntil) {
      // The HMAC itself takes microseconds.
    }
    void server.close()
    await waitFor('the upgrading connection closed by the server', () => upgrading.closed())
    const answer = upgrading.received().toString('latin1')
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable')
    expect(answer).toContain('"code":"TS_ERR_SHUTTING_DOWN"')
    expect(server.stats().ws.opened).toBe(0)
    rmSync(markerDir, { recursive: true, force: true })
  }, 20_000)
})

/** A keep-alive TCP connection to the server, its first exchange (a GET /healthz) done. */
async function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1')
  let received = Buffer.alloc(0)
  let closed = false
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk])
  })
  socket.on('error', () => undefined)
  socket.on('close', () => {
    closed = true
  })
  socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  await waitFor('the first /healthz answered', () => received.includes('"status"'))
  received = Buffer.alloc(0)
  return { socket, received: () => received, closed: () => closed }
}
