/**
 * Hostile input against a real server (issue 5), with fast-check: random query strings, POST
 * bodies, header values, Content-Length lies and WebSocket messages. Every answer is a 200 of
 * the route's content type or a 4xx `{"error":{"code":"TS_ERR_…","message":…}}`; never a 5xx,
 * never a hang; sockets stay usable; and after each property the server is healthy and holds no
 * leftover connection. One server per test (the helper closes it after each), many requests per
 * server. fast-check prints the seed and the shrunk counterexample of a failure.
 */

import { isUtf8 } from 'node:buffer'
import { connect } from 'node:net'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { ERROR_CODES } from '../../src/errors.js'
import type { TickstormServer } from '../../src/server/server.js'
import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'
import { concatBytes, fuzzRuns } from '../helpers/fuzz.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const SSE_TYPE = 'text/event-stream; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'
/** Every answer here is computed at once; a request left unanswered this long is a hang. */
const ANSWER_MS = 5000
const MAX_BODY_BYTES = 64 * 1024
const WS_MAX_PAYLOAD_BYTES = 16 * 1024
/** A URL this long is always read by uWS; far longer ones (≈96 KiB) get a connection reset. */
const UWS_SAFE_URL_BYTES = 64 * 1024

const CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES))
/** README "Errors": the status each client error comes with (codes added later: any 4xx). */
const STATUS_OF: Readonly<Record<string, number>> = {
  [ERROR_CODES.UNKNOWN_SYMBOL]: 400,
  [ERROR_CODES.BAD_QUERY]: 400,
  [ERROR_CODES.BAD_JSON]: 400,
  [ERROR_CODES.BODY_TOO_LARGE]: 413,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.METHOD_NOT_ALLOWED]: 405,
}

// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON, asserted field by field
type Json = any

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Checks a coded error document and its status; returns the code. */
function expectCodedError(status: number, contentType: string | null, text: string): string {
  expect(status).toBeGreaterThanOrEqual(400)
  expect(status).toBeLessThan(500)
  expect(contentType).toBe(JSON_TYPE)
  const body = JSON.parse(text) as Json
  expect(Object.keys(body)).toEqual(['error'])
  const { code, message } = body.error
  expect(CODES.has(code)).toBe(true)
  expect(code).not.toBe(ERROR_CODES.INTERNAL)
  expect(typeof message).toBe('string')
  if (STATUS_OF[code] !== undefined) expect(status).toBe(STATUS_OF[code])
  return code as string
}

/** A 200 has `body` (null for a stream) and no code; anything else has its error code. */
interface Answer {
  readonly status: number
  readonly code: string | null
  readonly body: Json
}

/**
 * One request with a deadline. A 200 stream is read up to its first chunk (which must be the
 * `retry:` preamble) and then aborted; a JSON answer is read whole. A request still unanswered at
 * the deadline is a hang unless `mayWait()` says the server holds it on purpose (body null).
 */
async function ask(
  url: string,
  init: RequestInit,
  okType: 'sse' | 'json',
  mayWait: () => boolean = () => false,
): Promise<Answer> {
  const controller = new AbortController()
  let waiting = false
  const timer = setTimeout(() => {
    waiting = mayWait()
    controller.abort(new Error(`no answer within ${ANSWER_MS} ms`))
  }, ANSWER_MS)
  try {
    let response: Response
    try {
      response = await fetch(url, { ...init, signal: controller.signal })
    } catch (error) {
      if (waiting) return { status: 200, code: null, body: null }
      throw error
    }
    const contentType = response.headers.get('content-type')
    if (response.status !== 200) {
      const code = expectCodedError(response.status, contentType, await response.text())
      return { status: response.status, code, body: null }
    }
    if (okType === 'sse') {
      expect(contentType).toBe(SSE_TYPE)
      const first = await response.body!.getReader().read()
      expect(decoder.decode(first.value)).toMatch(/^retry: \d+\n/)
      controller.abort()
      return { status: 200, code: null, body: null }
    }
    expect(contentType).toBe(JSON_TYPE)
    return { status: 200, code: null, body: JSON.parse(await response.text()) as Json }
  } finally {
    clearTimeout(timer)
  }
}

/** The server still answers, and hostile input left no connection behind. */
async function expectHealthy(server: TickstormServer): Promise<void> {
  const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(ANSWER_MS) })
  expect(response.status).toBe(200)
  expect(((await response.json()) as Json).status).toBe('ok')
  await waitFor(
    'every hostile connection to be closed on the server',
    () => {
      const stats = server.stats()
      return (
        stats.sse.connections === 0 &&
        stats.longpoll.connections === 0 &&
        stats.ws.connections === 0
      )
    },
    {
      state: () => {
        const stats = server.stats()
        return {
          sse: stats.sse.connections,
          poll: stats.longpoll.connections,
          ws: stats.ws.connections,
        }
      },
    },
  )
}

// ---------------------------------------------------------------------------------------------
// Query strings

const KNOWN_PARAMS = ['symbols', 'lastEventId', 'snapshot', 'client', 'cursor', 'timeoutMs']
/** A parameter every route may take besides its own (the token, when auth is on). */
const MAYBE_ADDED = ['access_token']

/** Well-formed UTF-16, so that encodeURIComponent cannot throw on a lone surrogate. */
const wellFormed = (text: string): string => decoder.decode(encoder.encode(text))
const anyText = (maxLength: number) =>
  fc.string({ unit: 'binary', maxLength }).map((text) => wellFormed(text))

const symbolName = fc.constantFrom(
  'AAPL',
  'MSFT',
  'NVDA',
  'aapl',
  'mSfT',
  ' AAPL',
  'AAPL ',
  'ZZZZ',
  '',
  ' ',
  'ÄAPL',
  'AAPL\0',
  'A'.repeat(300),
)

/** The parameters each route takes (README "Endpoints"). */
const ROUTE_PARAMS = {
  '/v1/stream': ['symbols', 'lastEventId', 'snapshot', 'client'],
  '/v1/poll': ['symbols', 'cursor', 'timeoutMs', 'client'],
  '/v1/snapshot': ['symbols'],
} as const
type Route = keyof typeof ROUTE_PARAMS

/** Mostly the route's own parameters, so that many queries get past the unknown-key check. */
const paramKey = (route: Route) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ROUTE_PARAMS[route]) },
    { weight: 2, arbitrary: fc.constantFrom(...KNOWN_PARAMS) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', 'symbol', 'SYMBOLS', '__proto__', 'constructor', 'symbols[]'),
    },
    { weight: 1, arbitrary: anyText(10) },
  )

const paramValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      'true',
      'false',
      '0',
      '1',
      '-1',
      '1e3',
      '0x10',
      '120000',
      '120001',
      '99999999999999999999',
      'AAPL',
      'AAPL,MSFT',
      ',',
      'AAPL,',
      'null',
      'abc-DEF_1',
      'a'.repeat(65),
    ),
  },
  { weight: 3, arbitrary: fc.array(symbolName, { maxLength: 6 }).map((names) => names.join(',')) },
  { weight: 2, arbitrary: anyText(40) },
  { weight: 2, arbitrary: fc.nat().map(String) },
  {
    weight: 1,
    // Huge: a long list of real symbols, or one long unknown one.
    arbitrary: fc.oneof(
      fc
        .integer({ min: 100, max: 2500 })
        .map((n) => Array.from({ length: n }, (_, i) => ['AAPL', 'MSFT', 'NVDA'][i % 3]).join(',')),
      fc.integer({ min: 1000, max: 30_000 }).map((n) => 'Q'.repeat(n)),
    ),
  },
)

/** How a piece goes into the URL: properly, raw (the URL parser fixes what it must), or mangled. */
type Encoding = 'component' | 'raw' | 'every-byte' | 'broken-percent'
function encodePiece(text: string, encoding: Encoding): string {
  switch (encoding) {
    case 'component':
      return encodeURIComponent(text)
    case 'raw':
      return text.replaceAll('#', '%23')
    case 'every-byte':
      return [...encoder.encode(text)]
        .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
        .join('')
    case 'broken-percent':
      return `${encodeURIComponent(text)}%${text.length % 2 === 0 ? 'G' : ''}`
  }
}

interface Param {
  readonly key: string
  readonly value: string | null
  readonly encoding: Encoding
}

const param = (route: Route): fc.Arbitrary<Param> =>
  fc.record({
    key: paramKey(route),
    value: fc.option(paramValue),
    encoding: fc.constantFrom<Encoding>(
      'component',
      'component',
      'raw',
      'every-byte',
      'broken-percent',
    ),
  })

const queryString = (route: Route) =>
  fc
    .tuple(fc.array(param(route), { maxLength: 5 }), fc.constantFrom('&', '&', '&', '&&', ';'))
    .map(([params, separator]) =>
      params
        .map(
          ({ key, value, encoding }) =>
            encodePiece(key, encoding) + (value === null ? '' : `=${encodePiece(value, encoding)}`),
        )
        .join(separator),
    )

// ---------------------------------------------------------------------------------------------
// Raw HTTP

interface RawAnswer {
  /** The status of the first response, or null when none came. */
  readonly status: number | null
  readonly head: string
  readonly body: Buffer
  readonly closed: boolean
}

/**
 * Writes raw bytes on a fresh TCP connection and reads until a whole first response is in (a
 * JSON body of its Content-Length, or a stream's first chunk), the peer closes, or `waitMs`.
 */
async function rawExchange(port: number, bytes: Uint8Array, waitMs: number): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  let closed = false
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(bytes)
  const parsed = () => {
    const all = Buffer.concat(chunks)
    const end = all.indexOf('\r\n\r\n')
    if (end === -1) return null
    const head = all.subarray(0, end).toString('latin1')
    return { head, body: all.subarray(end + 4) }
  }
  const complete = () => {
    const response = parsed()
    if (response === null) return false
    const length = /\r\ncontent-length: *(\d+)/i.exec(response.head)
    if (length) return response.body.length >= Number(length[1])
    return response.body.includes('retry: ')
  }
  const deadline = Date.now() + waitMs
  while (!closed && !complete() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  socket.destroy()
  const response = parsed()
  const status = response === null ? null : Number(/^HTTP\/1\.1 (\d{3})/.exec(response.head)?.[1])
  return {
    status,
    head: response?.head ?? '',
    body: response?.body ?? Buffer.alloc(0),
    closed,
  }
}

/** A raw answer: a 200 stream, or a coded 4xx (uWS's own rejections have no JSON body). */
function expectRawAnswerOk(answer: RawAnswer): void {
  if (answer.status === null) return
  expect(answer.status).toBeLessThan(500)
  if (answer.status === 200) {
    expect(answer.head.toLowerCase()).toContain(`content-type: ${SSE_TYPE}`)
    return
  }
  const type = /\r\ncontent-type: *([^\r]*)/i.exec(answer.head)?.[1] ?? null
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(answer.head)?.[1])
  expectCodedError(answer.status, type, answer.body.subarray(0, length).toString('utf8'))
}

/** RFC 9110 field-value bytes (HTAB, SP, VCHAR, obs-text), plus DEL, which uWS accepts too. */
const isFieldValueByte = (byte: number): boolean => byte === 0x09 || byte >= 0x20

// ---------------------------------------------------------------------------------------------
// WebSocket

/** A WebSocket client that queues the server's control replies, skipping events and heartbeats. */
async function openWs(url: string) {
  const socket = new WebSocket(url)
  const replies: Json[] = []
  const events: Json[] = []
  let closeCode: number | null = null
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as Json
    if (Array.isArray(message)) events.push(...message)
    else if (message.op !== 'hb') replies.push(message)
  })
  socket.on('close', (code) => {
    closeCode = code
  })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return {
    socket,
    events,
    closeCode: () => closeCode,
    /** The next control reply (error, subscribed, unsubscribed), in order. */
    async next(): Promise<Json> {
      await waitFor('a WebSocket reply', () => replies.length > 0 || closeCode !== null, {
        timeoutMs: ANSWER_MS,
      })
      expect(closeCode).toBeNull()
      return replies.shift()
    },
  }
}

const wsSymbols = fc.oneof(
  fc.array(fc.oneof(symbolName, anyText(8)), { maxLength: 6 }),
  fc.jsonValue({ maxDepth: 2 }),
  // Huge lists, still under the payload limit.
  fc
    .integer({ min: 100, max: 1800 })
    .map((n) => Array.from({ length: n }, (_, i) => ['AAPL', 'MSFT', 'NVDA', 'ZZZZ'][i % 4])),
)

/** Subscribes that may well be valid: real symbols, resume ids in and out of the ring. */
const wsSubscribe = fc.record(
  {
    op: fc.constant('subscribe'),
    symbols: fc.oneof(
      fc.array(fc.constantFrom('AAPL', 'msft', 'Nvda', 'ZZZZ', ' AAPL', ''), { maxLength: 4 }),
      wsSymbols,
    ),
    lastEventId: fc.oneof(
      fc.constantFrom('', '0', '1', '-1', '007', '1e3', '999999999999999', '9999999999999999'),
      fc.integer({ min: 0, max: 5000 }).map(String),
      anyText(6),
    ),
    snapshot: fc.boolean(),
  },
  { requiredKeys: ['op'] },
)

const wsJson = fc.oneof(
  { weight: 3, arbitrary: wsSubscribe },
  {
    weight: 1,
    arbitrary: fc.constantFrom({ op: 'unsubscribe' }, { op: 'unsubscribe', symbols: [] }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        op: fc.oneof(
          fc.constantFrom('subscribe', 'subscribe', 'unsubscribe', 'SUBSCRIBE', 'hb', ''),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        symbols: wsSymbols,
        lastEventId: fc.oneof(
          fc.constantFrom('', '0', '1', '-1', '1e3', '999999999999999', '9999999999999999'),
          fc.nat().map(String),
          anyText(12),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        snapshot: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
)

type WsMessage = { readonly binary: boolean; readonly data: Uint8Array }

const wsMessage: fc.Arbitrary<WsMessage> = fc
  .oneof(
    { weight: 4, arbitrary: wsJson.map((value) => encoder.encode(JSON.stringify(value) ?? '')) },
    { weight: 1, arbitrary: anyText(200).map((text) => encoder.encode(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: WS_MAX_PAYLOAD_BYTES / 2 })
        .map((depth) => encoder.encode('['.repeat(depth) + ']'.repeat(depth))),
    },
  )
  .chain((data) => fc.record({ binary: fc.boolean(), data: fc.constant(data) }))
  .filter((message) => message.data.length <= WS_MAX_PAYLOAD_BYTES)

function expectWsReply(reply: Json): void {
  expect(typeof reply).toBe('object')
  switch (reply.op) {
    case 'error':
      expect(CODES.has(reply.code)).toBe(true)
      expect(reply.code).not.toBe(ERROR_CODES.INTERNAL)
      expect(typeof reply.message).toBe('string')
      break
    case 'subscribed':
      expect(reply.symbols === '*' || Array.isArray(reply.symbols)).toBe(true)
      expect(reply.head).toMatch(/^\d+$/)
      break
    case 'unsubscribed':
      expect(Object.keys(reply)).toEqual(['op'])
      break
    default:
      throw new Error(`unexpected WebSocket reply ${JSON.stringify(reply)}`)
  }
}

// ---------------------------------------------------------------------------------------------

describe('hostile input', () => {
  test('random query strings on /v1/stream, /v1/poll and /v1/snapshot: 200 of the right type or a coded 4xx', async () => {
    const server = await startServer({ symbols: 100 })
    const routes = {
      '/v1/stream': 'sse',
      '/v1/poll': 'json',
      '/v1/snapshot': 'json',
    } as const
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom<Route>('/v1/stream', '/v1/poll', '/v1/snapshot')
          .chain((route) => fc.tuple(fc.constant(route), queryString(route))),
        async ([route, query]) => {
          // A valid poll whose cursor is the head waits for the next matching event: not a hang.
          const parked = () => server.stats().longpoll.connections > 0
          const url = `${server.url}${route}?${query}`
          let answer: Answer
          try {
            answer = await ask(url, {}, routes[route], parked)
          } catch (error) {
            // uWS (this build) resets the connection, with no answer, when a request head is
            // over about 96 KiB; under 64 KiB every request must be answered.
            const code = ((error as Error).cause as { code?: string } | undefined)?.code
            if (url.length > UWS_SAFE_URL_BYTES && code === 'ECONNRESET') return
            throw error
          }
          // A parameter the route does not take, or a repeated one, is refused whatever else
          // the query holds (the server sees the query as the URL parser left it).
          const keys = [...new URLSearchParams(new URL(`http://x/?${query}`).search).keys()]
          const allowed: readonly string[] = [...ROUTE_PARAMS[route], ...MAYBE_ADDED]
          if (keys.some((key) => !allowed.includes(key)) || new Set(keys).size < keys.length) {
            expect(answer).toMatchObject({ status: 400, code: ERROR_CODES.BAD_QUERY })
          }
          if (answer.status !== 200 || answer.body === null) return
          if (route === '/v1/poll') {
            expect(Array.isArray(answer.body.events)).toBe(true)
            expect(answer.body.cursor).toMatch(/^\d+$/)
          }
          if (route === '/v1/snapshot') {
            expect(Array.isArray(answer.body.quotes)).toBe(true)
            expect(answer.body.reset).toBe(false)
          }
        },
      ),
      fuzzRuns(200),
    )
    await expectHealthy(server)
  })

  test('random POST /v1/stream bodies: a 200 stream, 400 TS_ERR_BAD_JSON (or a symbol error), or 413 past 64 KiB', async () => {
    const server = await startServer({ symbols: 100 })
    const subscribeLike = fc
      .record(
        {
          symbols: fc.oneof(fc.array(symbolName, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
          lastEventId: fc.oneof(fc.nat().map(String), anyText(8), fc.jsonValue({ maxDepth: 1 })),
          snapshot: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
          other: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((value) => encoder.encode(JSON.stringify(value)))
    /** A valid subscription padded with spaces to exactly `bytes` bytes. */
    const padded = (bytes: number) => {
      const json = '{"symbols":["AAPL"]}'
      return encoder.encode(json.slice(0, -1) + ' '.repeat(bytes - json.length) + json.slice(-1))
    }
    const validish = fc
      .record(
        {
          symbols: fc.array(fc.constantFrom('AAPL', 'msft', 'Nvda', 'ZZZZ', ' AAPL', ''), {
            maxLength: 4,
          }),
          lastEventId: fc.oneof(fc.integer({ min: 0, max: 5000 }).map(String), anyText(6)),
          snapshot: fc.boolean(),
        },
        { requiredKeys: [] },
      )
      .map((value) => encoder.encode(JSON.stringify(value)))
    const body = fc.oneof(
      validish,
      fc.uint8Array({ maxLength: 2048 }),
      fc.jsonValue().map((value) => encoder.encode(JSON.stringify(value))),
      subscribeLike,
      fc
        .tuple(fc.constantFrom('[', '{"a":', '{"symbols":'), fc.integer({ min: 1, max: 20_000 }))
        .map(([open, depth]) => encoder.encode(open.repeat(depth))),
      fc
        .integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES + 64 })
        .map((bytes) => padded(bytes)),
      fc
        .integer({ min: MAX_BODY_BYTES + 1, max: 4 * MAX_BODY_BYTES })
        .map((n) => new Uint8Array(n)),
    )
    await fc.assert(
      fc.asyncProperty(body, async (bytes) => {
        const answer = await ask(
          `${server.url}/v1/stream`,
          { method: 'POST', body: bytes, headers: { 'content-type': 'application/json' } },
          'sse',
        )
        if (bytes.length > MAX_BODY_BYTES) {
          expect(answer).toMatchObject({ status: 413, code: ERROR_CODES.BODY_TOO_LARGE })
          return
        }
        let json: unknown
        try {
          // As the server reads it: UTF-8 with replacement, a BOM kept (and refused by JSON).
          json = bytes.length === 0 ? {} : JSON.parse(Buffer.from(bytes).toString('utf8'))
        } catch {
          expect(answer).toMatchObject({ status: 400, code: ERROR_CODES.BAD_JSON })
          return
        }
        if (bytes.length >= MAX_BODY_BYTES - 64) expect(answer.status).toBe(200)
        if (typeof json !== 'object' || json === null || Array.isArray(json)) {
          expect(answer).toMatchObject({ status: 400, code: ERROR_CODES.BAD_JSON })
        }
      }),
      fuzzRuns(120),
    )
    await expectHealthy(server)
  })

  test('random Last-Event-ID headers and lastEventId values never fail the stream: malformed ids get a reset snapshot', async () => {
    const server = await startServer({ symbols: 100 })
    await waitFor('some ticks in the ring', () => server.feed.headSeq > 50)
    // What fetch lets through in a header: HTAB, SP, visible ASCII and 0x80-0xFF (it refuses
    // every other control byte, DEL included); the raw test below sends the rest.
    const byteString = fc
      .array(
        fc.oneof(
          fc.constant(0x09),
          fc.integer({ min: 0x20, max: 0x7e }),
          fc.integer({ min: 0x80, max: 0xff }),
        ),
        { maxLength: 24 },
      )
      .map((codes) => String.fromCharCode(...codes))
    const id = fc.oneof(
      byteString,
      fc.nat().map(String),
      fc.constantFrom('0', '1', '-1', '007', ' 42', '1e3', '999999999999999', '9999999999999999'),
      fc.integer({ min: 0, max: 40 }).map((back) => String(server.feed.headSeq - back)),
    )
    await fc.assert(
      fc.asyncProperty(id, fc.boolean(), async (value, asHeader) => {
        const controller = new AbortController()
        const timer = setTimeout(() => controller.abort(new Error('hang')), ANSWER_MS)
        const url = asHeader
          ? `${server.url}/v1/stream?symbols=AAPL`
          : `${server.url}/v1/stream?symbols=AAPL&lastEventId=${encodeURIComponent(value)}`
        try {
          const response = await fetch(url, {
            headers: asHeader ? { 'last-event-id': value } : {},
            signal: controller.signal,
          })
          expect(response.status).toBe(200)
          expect(response.headers.get('content-type')).toBe(SSE_TYPE)
          const events: SseEvent[] = []
          const parser = createSseParser({ onEvent: (event) => events.push(event) })
          const reader = response.body!.getReader()
          while (events.length === 0) {
            const { value: chunk, done } = await reader.read()
            if (done) throw new Error('the stream ended before its first event')
            parser.feed(chunk)
          }
          controller.abort()
          const first = events[0]!
          // fetch strips a header value's surrounding spaces and tabs. uWS (this build) then
          // trims every byte ≤ 0x20 *or ≥ 0x80* from both ends of a header value (a signed-char
          // whitespace test), so `12é` reaches the server as `12` and `é` as an absent header.
          // The query parameter arrives intact.
          const sent = asHeader ? value.replace(/^[\t \x80-\xff]+|[\t \x80-\xff]+$/g, '') : value
          if (sent === '') {
            expect(first.type).toBe('snapshot')
            expect(JSON.parse(first.data).reset).toBe(false)
          } else if (!/^\d{1,15}$/.test(sent)) {
            expect(first.type).toBe('snapshot')
            expect(JSON.parse(first.data).reset).toBe(true)
          } else if (first.type === 'snapshot') {
            expect(JSON.parse(first.data).reset).toBe(true)
          } else {
            expect(Number(first.lastEventId)).toBeGreaterThan(Number(sent))
          }
        } finally {
          clearTimeout(timer)
        }
      }),
      fuzzRuns(100),
    )
    await expectHealthy(server)
  })

  test('raw requests with random header bytes and Content-Length lies: no 5xx, no uncoded error, no crash', async () => {
    const server = await startServer({ symbols: 100 })
    const validBody = encoder.encode('{"symbols":["AAPL"]}')
    const lengthLie = fc.oneof(
      fc.constant({ kind: 'exact' as const, header: null }),
      fc.integer({ min: 1, max: 40 }).map((by) => ({ kind: 'short' as const, by, header: null })),
      fc.integer({ min: 1, max: 40 }).map((by) => ({ kind: 'long' as const, by, header: null })),
      fc
        .constantFrom('-1', 'abc', '1e3', ' 5', '0x10', '99999999999999999999', '', '5, 5', '+5')
        .map((header) => ({ kind: 'garbage' as const, header })),
    )
    const post = fc.record({
      body: fc.oneof(fc.constant(validBody), fc.uint8Array({ maxLength: 64 })),
      lie: lengthLie,
    })
    const headerValue = fc.uint8Array({ maxLength: 24 }).map((bytes) =>
      // Keep the framing: no CR or LF inside the value.
      bytes.map((byte) => (byte === 0x0d || byte === 0x0a ? 0x20 : byte)),
    )
    const get = fc.record({
      name: fc.constantFrom('Last-Event-ID', 'Accept', 'X-Junk'),
      value: headerValue,
    })

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          post.map((p) => ({ post: p })),
          get.map((g) => ({ get: g })),
        ),
        async (input) => {
          if ('post' in input) {
            const { body, lie } = input.post
            const declared =
              lie.kind === 'exact'
                ? String(body.length)
                : lie.kind === 'short'
                  ? String(Math.max(0, body.length - lie.by))
                  : lie.kind === 'long'
                    ? String(body.length + lie.by)
                    : lie.header
            const head = encoder.encode(
              `POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`,
            )
            const waitMs = lie.kind === 'exact' ? ANSWER_MS : 150
            const answer = await rawExchange(server.port, concatBytes([head, body]), waitMs)
            expectRawAnswerOk(answer)
            // A truthful request is always answered.
            if (lie.kind === 'exact') expect(answer.status).not.toBeNull()
            return
          }
          const { name, value } = input.get
          const request = concatBytes([
            encoder.encode(`GET /v1/stream?symbols=AAPL HTTP/1.1\r\nHost: x\r\n${name}: `),
            value,
            encoder.encode('\r\n\r\n'),
          ])
          const valid = value.every(isFieldValueByte)
          const answer = await rawExchange(server.port, request, valid ? ANSWER_MS : 150)
          expectRawAnswerOk(answer)
          // A well-formed request is always answered (uWS ignores one with control bytes).
          if (valid) expect(answer.status).toBe(200)
        },
      ),
      fuzzRuns(80),
    )
    await expectHealthy(server)
  })

  test('random WebSocket messages: each gets a coded error frame or a valid reply, and the socket stays usable', async () => {
    const server = await startServer({ symbols: 100 })
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    await fc.assert(
      fc.asyncProperty(
        fc.array(wsMessage, { minLength: 1, maxLength: 4 }),
        fc.option(anyText(70)),
        async (messages, clientId) => {
          const url = clientId === null ? wsUrl : `${wsUrl}?client=${encodeURIComponent(clientId)}`
          const ws = await openWs(url)
          try {
            for (const message of messages) {
              ws.socket.send(message.data, { binary: message.binary })
              if (!message.binary && !isUtf8(message.data)) {
                // RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection. uWS drops
                // it without a close frame (1006) rather than closing with 1007.
                await waitFor('the socket to be failed', () => ws.closeCode() !== null)
                expect(ws.closeCode()).toBe(1006)
                return
              }
              expectWsReply(await ws.next())
            }
            // Still usable: a valid subscribe gets its reply and a snapshot of AAPL.
            const seen = ws.events.length
            ws.socket.send('{"op":"subscribe","symbols":["aapl"]}')
            expect(await ws.next()).toMatchObject({ op: 'subscribed', symbols: ['AAPL'] })
            await waitFor('the snapshot after the last subscribe', () =>
              ws.events
                .slice(seen)
                .some(
                  (event) => event.event === 'snapshot' && event.data.quotes[0]?.sym === 'AAPL',
                ),
            )
            expect(ws.closeCode()).toBeNull()
          } finally {
            ws.socket.terminate()
          }
        },
      ),
      fuzzRuns(60),
    )
    await expectHealthy(server)
  })

  test('a WebSocket message over 16 KiB closes that socket only; the server goes on', async () => {
    const server = await startServer({ symbols: 100 })
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/ws`
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: WS_MAX_PAYLOAD_BYTES + 1, max: 4 * WS_MAX_PAYLOAD_BYTES }),
        fc.boolean(),
        async (bytes, binary) => {
          const ws = await openWs(wsUrl)
          const bystander = await openWs(wsUrl)
          try {
            const message = `{"op":"subscribe","symbols":["${'A'.repeat(bytes - 30)}"]}`
            ws.socket.send(binary ? encoder.encode(message) : message, { binary })
            await waitFor('the oversized socket to be closed', () => ws.closeCode() !== null, {
              timeoutMs: ANSWER_MS,
            })
            // uWS (this build) drops the TCP connection without a close frame when a message is
            // over maxPayloadLength, so the client sees 1006, not 1009 "message too big".
            expect(ws.closeCode()).toBe(1006)
            bystander.socket.send('{"op":"subscribe","symbols":["MSFT"]}')
            expect(await bystander.next()).toMatchObject({ op: 'subscribed', symbols: ['MSFT'] })
          } finally {
            ws.socket.terminate()
            bystander.socket.terminate()
          }
        },
      ),
      fuzzRuns(10),
    )
    await expectHealthy(server)
  })
})
