import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { openRaw } from '../helpers/raw-connection.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const webRoot = mkdtempSync(join(tmpdir(), 'tickstorm-head-'))
writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>tickstorm</title>\n')
writeFileSync(join(webRoot, 'app.js'), 'console.log("ticker")\n')
afterAll(() => rmSync(webRoot, { recursive: true, force: true }))

interface RawResponse {
  readonly statusLine: string
  readonly headers: ReadonlyMap<string, string>
  /** The header block's bytes, through the blank line. */
  readonly headBytes: number
}

function parseHead(text: string): RawResponse | null {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return null
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const headers = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
  }
  return { statusLine: statusLine!, headers, headBytes: end + 4 }
}

/**
 * A HEAD on a raw keep-alive socket, then a GET /healthz on the same socket. A HEAD answered with
 * content leaves those bytes in front of the second response, so: the bytes after the HEAD's
 * header block must be exactly the GET's whole response, and nothing else ever arrives.
 */
async function headThenGet(port: number, path: string): Promise<RawResponse> {
  const connection = await openRaw(port)
  const text = () => connection.received().toString('latin1')
  connection.write(`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
  await waitFor(`the HEAD ${path} answer`, () => parseHead(text()) !== null, {
    state: () => text().slice(0, 400),
  })
  const head = parseHead(text())!
  connection.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  // The second answer's header block, then exactly its Content-Length of content.
  let second: RawResponse | null = null
  await waitFor(
    'the GET /healthz answer on the same socket, whole',
    () => {
      second = parseHead(text().slice(head.headBytes))
      if (second === null) return false
      const length = Number(second.headers.get('content-length'))
      return text().length >= head.headBytes + second.headBytes + length
    },
    { state: () => text().slice(0, 600) },
  )
  const got = second as RawResponse | null
  expect(
    got!.statusLine,
    `bytes after the HEAD answer: ${text().slice(head.headBytes, head.headBytes + 80)}`,
  ).toBe('HTTP/1.1 200 OK')
  const length = Number(got!.headers.get('content-length'))
  expect(text().length).toBe(head.headBytes + got!.headBytes + length)
  return head
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '5', ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
    })
  })
}

const NON_STREAMING = [
  '/',
  '/app.js',
  '/v1/snapshot?symbols=AAPL',
  '/v1/symbols',
  '/healthz',
  '/metrics',
]

describe('HEAD (RFC 9110 §9.3.2): GET without content', () => {
  test.each(NON_STREAMING)('HEAD %s: GET’s status and headers, no content', async (path) => {
    const server = await startServer({ webRoot })
    const get = await fetch(`${server.url}${path}`)
    const getBody = Buffer.from(await get.arrayBuffer())
    const head = await fetch(`${server.url}${path}`, { method: 'HEAD' })
    expect(head.status).toBe(get.status)
    for (const name of ['content-type', 'cache-control', 'access-control-allow-origin']) {
      expect(head.headers.get(name), name).toBe(get.headers.get(name))
    }
    // The length the GET's content has (these two are fixed; the others change per request).
    if (path === '/app.js' || path === '/v1/symbols') {
      expect(head.headers.get('content-length')).toBe(String(getBody.length))
    } else expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0)
    expect((await head.arrayBuffer()).byteLength).toBe(0)
    const raw = await headThenGet(server.port, path)
    expect(raw.statusLine).toBe('HTTP/1.1 200 OK')
  })

  test('curl -I on every non-streaming route: 200, and curl finds no excess bytes on its reused connection', async () => {
    const server = await startServer({ webRoot })
    const urls = NON_STREAMING.map((path) => `${server.url}${path}`)
    const result = await curl(['-v', '-I', ...urls])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).not.toMatch(/excess/i)
    expect(result.stderr).toContain('Re-using existing connection')
    expect(result.stdout.match(/^HTTP\/1\.1 200 OK/gm)?.length).toBe(urls.length)
  })

  test('HEAD /v1/stream: 200 with the event-stream headers, then the end; no stream is held', async () => {
    const server = await startServer()
    const head = await headThenGet(server.port, '/v1/stream?symbols=AAPL')
    expect(head.statusLine).toBe('HTTP/1.1 200 OK')
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(head.headers.get('cache-control')).toBe('no-store, no-transform')
    expect(head.headers.get('x-accel-buffering')).toBe('no')
    const response = await fetch(`${server.url}/v1/stream?symbols=AAPL`, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect((await response.arrayBuffer()).byteLength).toBe(0)
    expect(server.stats().sse.connections).toBe(0)
    const viaCurl = await curl(['-v', '-I', `${server.url}/v1/stream?symbols=AAPL`])
    expect(viaCurl.code, viaCurl.stderr).toBe(0)
    expect(viaCurl.stdout).toContain('text/event-stream')
  })

  test('HEAD /v1/poll: 200 with the JSON headers at once, nothing parked', async () => {
    const server = await startServer()
    // A GET with these parameters would wait 60 s for events.
    const head = await headThenGet(
      server.port,
      '/v1/poll?symbols=AAPL&timeoutMs=60000&cursor=999999999',
    )
    expect(head.statusLine).toBe('HTTP/1.1 200 OK')
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(server.stats().longpoll.connections).toBe(0)
  })

  test('a HEAD that fails is answered like the GET, without the error document', async () => {
    const server = await startServer()
    const bad = await fetch(`${server.url}/v1/stream?symbols=NOPE1`, { method: 'HEAD' })
    expect(bad.status).toBe(400)
    expect((await bad.arrayBuffer()).byteLength).toBe(0)
    const missing = await fetch(`${server.url}/nothing-here`, { method: 'HEAD' })
    expect(missing.status).toBe(404)
    // 405 on a POST-only route: Allow says what is, the answer has no content.
    const drop = await fetch(`${server.url}/v1/drop`, { method: 'HEAD' })
    expect(drop.status).toBe(405)
    expect(drop.headers.get('allow')).toBe('POST, OPTIONS')
    expect((await drop.arrayBuffer()).byteLength).toBe(0)
    for (const path of ['/v1/stream?symbols=NOPE1', '/nothing-here', '/v1/drop']) {
      const socket = await headThenGet(server.port, path)
      expect(socket.statusLine).not.toBe('HTTP/1.1 200 OK')
    }
  })

  test('Allow lists HEAD wherever GET is allowed', async () => {
    const server = await startServer()
    for (const path of ['/healthz', '/v1/symbols', '/v1/snapshot', '/metrics', '/v1/poll']) {
      const response = await fetch(`${server.url}${path}`, { method: 'DELETE' })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow'), path).toBe('GET, HEAD, OPTIONS')
    }
    const stream = await fetch(`${server.url}/v1/stream`, { method: 'PUT' })
    expect(stream.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS')
    // /v1/ws takes GET and HEAD, but only as a WebSocket upgrade: 426, not a 405 naming GET.
    const plain = await fetch(`${server.url}/v1/ws`)
    expect(plain.status).toBe(426)
    expect(plain.headers.get('upgrade')).toBe('websocket')
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe(
      'TS_ERR_UPGRADE_REQUIRED',
    )
    const head = await fetch(`${server.url}/v1/ws`, { method: 'HEAD' })
    expect(head.status).toBe(426)
    expect((await head.arrayBuffer()).byteLength).toBe(0)
  })
})
