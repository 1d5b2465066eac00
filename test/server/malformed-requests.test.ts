/**
 * What the server does with requests its HTTP parser cannot take, on the wire (README "Limits").
 * The parser is uWebSockets.js's (the npm alias of 20.30.0, uWS core of 2023-05-28, HttpParser.h),
 * and it runs before any route: the app gets no callback for a request it refuses, so no 400, 431
 * or 505 can be sent. It does one of three things, all without a byte of answer:
 *
 * - holds the bytes as a head still arriving (`getHeaders` returns 0 for "malformed" and for
 *   "incomplete" alike) until they reach 4 KiB (`MAX_FALLBACK_SIZE`), then closes; short of
 *   that, its 10 s idle timeout closes the connection (8–12 s: its timer ticks every 4 s);
 * - closes at once (a FIN) when the head parsed but breaks a rule (`fenceAndConsumePostPadded`
 *   returns FULLPTR, or the error handler runs);
 * - resets the connection when it closes with bytes still unread (an RST).
 *
 * Each behaviour is pinned here so that a uWS upgrade that changes it (later versions answer 400,
 * 431 and 505 themselves, and take more headers) fails a test and the README table is revisited.
 */

import { describe, expect, test } from 'vitest'
import {
  expectHeldAsUnfinishedHead,
  openRaw,
  QUIET_MS,
  UWS_HEAD_BUFFER_BYTES,
} from '../helpers/raw-connection.js'
import { curlWriteOut } from '../helpers/run-client.js'
import { serverForFile } from '../helpers/server.js'

/** An answer, or a close "at once", comes well within this: under the idle timeout's 8 s. */
const CLOSE_MS = 5000
/** uWS reads at most this much per read (uSockets LIBUS_RECV_BUFFER_LENGTH). */
const UWS_READ_BYTES = 512 * 1024
/** Header fields uWS parses in one request (HttpRequest MAX_HEADERS 50: the request line, 48, the end). */
const UWS_MAX_HEADER_FIELDS = 48

// One server for the file: every test here only reads.
const server = serverForFile()

/** `count` header fields, Host first. */
function fields(count: number): string {
  return ['Host: t', ...Array.from({ length: count - 1 }, (_, i) => `X-F${i}: v`)]
    .map((line) => `${line}\r\n`)
    .join('')
}

/** A complete GET /healthz head of exactly `bytes` bytes, padded in one header value. */
function headOfBytes(bytes: number): string {
  const start = 'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: '
  const end = '\r\n\r\n'
  return start + 'x'.repeat(bytes - start.length - end.length) + end
}

/** Sends `request` on a fresh connection and reads until the server closes it. */
async function exchange(request: string | Uint8Array, withinMs = CLOSE_MS) {
  const connection = await openRaw(server().port)
  connection.write(request)
  const { end, received } = await connection.closed(withinMs)
  return {
    end,
    status: received.toString('latin1').split('\r\n', 1)[0] ?? '',
    bytes: received.length,
  }
}

/** The HTTP/2 client preface and an empty SETTINGS frame, as `curl --http2-prior-knowledge` opens. */
const H2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
])

/** Requests uWS holds as a head still arriving: never answered, closed at 4 KiB or by the idle timeout. */
const HELD: readonly (readonly [string, string | Uint8Array])[] = [
  [
    `${UWS_MAX_HEADER_FIELDS + 1} header fields`,
    `GET /healthz HTTP/1.1\r\n${fields(UWS_MAX_HEADER_FIELDS + 1)}\r\n`,
  ],
  ['no header field at all', 'GET /healthz HTTP/1.1\r\n\r\n'],
  ['no HTTP version (HTTP/0.9 style)', 'GET /healthz\r\n'],
  ['version HTTP/2.0', 'GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n'],
  ['version in lower case', 'GET /healthz http/1.1\r\nHost: t\r\n\r\n'],
  ['absolute-form target', 'GET http://t/healthz HTTP/1.1\r\nHost: t\r\n\r\n'],
  ['asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n'],
  ['not a request line', 'HELLO\r\nHost: t\r\n\r\n'],
  ['bare LF line ends', 'GET /healthz HTTP/1.1\nHost: t\n\n'],
  ['whitespace before a colon', 'GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n'],
  ['a folded header line (obs-fold)', 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n'],
  ['a control byte in a header value', 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b\u0001c\r\n\r\n'],
  ['the HTTP/2 preface (prior knowledge)', H2_PREFACE],
]

/** Requests whose head parsed but broke a rule: closed at once (FIN), without a byte. */
const CLOSED: readonly (readonly [string, string])[] = [
  ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n'],
  [
    'both Content-Length and Transfer-Encoding',
    'POST /v1/stream HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
  ],
  [
    'a Content-Length that is not a number',
    'GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n',
  ],
  [
    'a Content-Length of 10 digits (over 999,999,999)',
    'GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n',
  ],
  [
    'a chunked body with a bad chunk size',
    'POST /v1/stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  ],
  [
    'an unfinished head of 4 KiB',
    `GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ${'x'.repeat(4096)}`.slice(
      0,
      UWS_HEAD_BUFFER_BYTES,
    ),
  ],
]

describe('what uWS answers, and what it never answers', () => {
  test(`${UWS_MAX_HEADER_FIELDS} header fields are answered`, async () => {
    const answer = await exchange(
      `GET /healthz HTTP/1.1\r\n${fields(UWS_MAX_HEADER_FIELDS - 1)}Connection: close\r\n\r\n`,
    )
    expect(answer).toMatchObject({ end: 'fin', status: 'HTTP/1.1 200 OK' })
  })

  test.each(HELD)('%s: no byte, held as an unfinished head', async (_name, request) => {
    const connection = await openRaw(server().port)
    connection.write(request)
    await expectHeldAsUnfinishedHead(connection, Buffer.byteLength(request), {
      closeMs: CLOSE_MS,
    })
  })

  test('an unfinished head of 4095 bytes is still held', async () => {
    const connection = await openRaw(server().port)
    const head = `GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ${'x'.repeat(4096)}`.slice(0, 4095)
    connection.write(head)
    await expect(connection.closed(QUIET_MS)).rejects.toThrow(/^still open after/)
    connection.write('x')
    expect(await connection.closed(CLOSE_MS)).toEqual({ end: 'fin', received: Buffer.alloc(0) })
  })

  test.each(CLOSED)('%s: closed at once, without a byte', async (_name, request) => {
    expect(await exchange(request)).toEqual({ end: 'fin', status: '', bytes: 0 })
  })

  test('a Content-Length over 999,999,999: the route ran, its answer is dropped', async () => {
    const before = server().stats().sse.opened
    const answer = await exchange(
      'GET /v1/stream?symbols=AAPL HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n',
    )
    expect(answer).toEqual({ end: 'fin', status: '', bytes: 0 })
    expect(server().stats().sse.opened).toBe(before + 1)
  })

  test('a complete head of 64 KiB written at once is answered (it arrives in one read)', async () => {
    expect(await exchange(headOfBytes(64 * 1024))).toMatchObject({
      end: 'fin',
      status: 'HTTP/1.1 200 OK',
    })
  })

  test('a head larger than one uWS read (512 KiB) gets a reset, without a byte', async () => {
    expect(await exchange(headOfBytes(UWS_READ_BYTES + 64 * 1024))).toEqual({
      end: 'reset',
      status: '',
      bytes: 0,
    })
  })

  test('a GET with a body is answered, and the connection serves the next request', async () => {
    const connection = await openRaw(server().port)
    connection.write('GET /v1/symbols HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello')
    const first = await connection.receivedAtLeast(1, CLOSE_MS)
    expect(first.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    connection.write('GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    const { end, received } = await connection.closed(CLOSE_MS)
    expect(end).toBe('fin')
    expect(received.toString('latin1').match(/HTTP\/1\.1 200 OK\r\n/g)).toHaveLength(2)
  })

  test('a GET announcing 999,999,999 body bytes is answered, then its connection waits for them', async () => {
    const connection = await openRaw(server().port)
    connection.write('GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n')
    const first = await connection.receivedAtLeast(1, CLOSE_MS)
    expect(first.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    // The next request is read as body bytes: no second answer.
    const answered = first.length
    connection.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n')
    await expect(connection.closed(QUIET_MS)).rejects.toThrow(/^still open after/)
    expect(connection.received().length).toBe(answered)
  })

  test('an HTTP/1.1 request asking to upgrade to h2c is answered over HTTP/1.1 (curl --http2)', async () => {
    const result = await curlWriteOut(`${server().url}/healthz`, '--http2', {
      maxTimeSec: 5,
      writeOut: '%{http_code} %{http_version}',
    })
    expect(result).toEqual({ code: 0, stdout: '200 1.1', stderr: '' })
  })

  test('curl --http2-prior-knowledge gets no answer (it times out with 0 bytes)', async () => {
    const result = await curlWriteOut(`${server().url}/healthz`, '--http2-prior-knowledge', {
      maxTimeSec: 1,
    })
    expect(result).toEqual({
      code: 28,
      stdout: '000',
      stderr: expect.stringContaining('with 0 bytes received'),
    })
  })
})
