/**
 * HTTP/1.0 gets no answer from this server, on any route (README "Limits"). The uWebSockets.js
 * build it runs on (the npm alias of 20.30.0, uWS core of 2023-05-28) accepts only a request line
 * that ends in exactly " HTTP/1.1\r\n" (HttpParser.h, `consumeRequestLine`); anything else is
 * taken for a request head still arriving. The bytes are buffered, no route ever runs, and the
 * connection is closed without a byte: by uWS's 10 s idle timeout (8–12 s, its timer ticks every
 * 4 s), or at once when 4 KiB are buffered. No option, environment variable or API of this build
 * changes that. These tests pin it on the wire, so an upgrade that changes it (later uWS answers
 * "505 HTTP Version Not Supported", then "400 Bad Request") fails here and the README's limits
 * and the start-up notice get revisited.
 */

import { describe, expect, test } from 'vitest'
import { expectHeldAsUnfinishedHead, openRaw } from '../helpers/raw-connection.js'
import { curlWriteOut, runClient } from '../helpers/run-client.js'
import { serverForFile } from '../helpers/server.js'

/** Debian's ApacheBench (apache2-utils), a client we did not write. */
const AB = '/usr/bin/ab'
/** An HTTP/1.1 request is answered well within this. */
const ANSWER_MS = 5000

// One server for the file: every test here only reads.
const server = serverForFile()

const REQUESTS: readonly (readonly [string, string])[] = [
  ['GET /healthz, Host', 'GET /healthz HTTP/1.0\r\nHost: t\r\n\r\n'],
  ['GET /healthz, no Host', 'GET /healthz HTTP/1.0\r\n\r\n'],
  [
    'GET /healthz, Connection: close',
    'GET /healthz HTTP/1.0\r\nHost: t\r\nConnection: close\r\n\r\n',
  ],
  [
    'GET /healthz, Connection: keep-alive',
    'GET /healthz HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n',
  ],
  ['HEAD /healthz', 'HEAD /healthz HTTP/1.0\r\nHost: t\r\n\r\n'],
  ['GET /v1/stream (SSE)', 'GET /v1/stream?symbols=AAPL HTTP/1.0\r\nHost: t\r\n\r\n'],
  ['GET /v1/poll', 'GET /v1/poll?symbols=AAPL&timeoutMs=0 HTTP/1.0\r\nHost: t\r\n\r\n'],
  ['GET / (the page)', 'GET / HTTP/1.0\r\nHost: t\r\n\r\n'],
  ['GET /nowhere (a 404 over HTTP/1.1)', 'GET /nowhere HTTP/1.0\r\nHost: t\r\n\r\n'],
  [
    'POST /v1/stream with a JSON body',
    'POST /v1/stream HTTP/1.0\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  ],
  // What nginx sends upstream by default (proxy_http_version 1.0, its default).
  [
    "nginx's default upstream request",
    'GET /healthz HTTP/1.0\r\nHost: tickstorm\r\nConnection: close\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n',
  ],
]

describe('HTTP/1.0 requests get no answer (the uWS build parses HTTP/1.1 only)', () => {
  test('the control: the same request over HTTP/1.1 is answered at once', async () => {
    const connection = await openRaw(server().port)
    connection.write('GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    const { end, received } = await connection.closed(ANSWER_MS)
    expect(end).toBe('fin')
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
  })

  test.each(REQUESTS)('%s: no byte, held open as an unfinished head', async (_name, request) => {
    const before = server().stats()
    const connection = await openRaw(server().port)
    connection.write(request)
    await expectHeldAsUnfinishedHead(connection, Buffer.byteLength(request), {
      closeMs: ANSWER_MS,
    })
    // No route ran: no stream or poll was opened.
    const after = server().stats()
    expect(after.sse.opened).toBe(before.sse.opened)
    expect(after.longpoll.answered).toBe(before.longpoll.answered)
  })

  test('curl --http1.0 times out with 0 bytes received; over HTTP/1.1 it gets a 200', async () => {
    const url = `${server().url}/healthz`
    const [http10, http11] = await Promise.all([
      curlWriteOut(url, '--http1.0', { maxTimeSec: 1 }),
      curlWriteOut(url, '--http1.1', { maxTimeSec: 5 }),
    ])
    // Exit 28: operation timed out; status 000: no status line came.
    expect(http10).toEqual({
      code: 28,
      stdout: '000',
      stderr: expect.stringContaining('with 0 bytes received'),
    })
    expect(http11).toEqual({ code: 0, stdout: '200', stderr: '' })
  })

  test('ApacheBench (HTTP/1.0 only) gets no answer: its 1 s socket timeout expires', async () => {
    const result = await runClient(AB, ['-n', '1', '-s', '1', `${server().url}/healthz`])
    // 119 is APR_TIMEUP (70007) as an exit status.
    expect(result.code).toBe(119)
    expect(result.stderr).toContain('The timeout specified has expired')
  })
})
