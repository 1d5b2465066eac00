import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { ClientHttp2Session } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { expectBuilt } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { waitFor } from '../helpers/wait.js'
import { type Edge, startEdge } from './edge-process.js'
import { connectH2, h2Get, openH2Sse } from './h2-client.js'
import { type Nginx, startNginx } from './nginx-process.js'
import { readmeNginxSite, readmeNginxSiteFor, UPSTREAM_HTTP11_LINES } from './readme-nginx.js'
import { selfSignedCertificate } from './self-signed.js'

/**
 * What a user behind nginx gets, with the README's config and with the config most people write
 * first. uWebSockets.js (this build) never answers HTTP/1.0, and HTTP/1.0 is what nginx speaks to
 * an upstream unless told `proxy_http_version 1.1;`. So the README's block streams, and a plain
 * `location / { proxy_pass …; }` gets a 502 on every route once the edge's idle timeout (10 s,
 * 8–12 s as its timer ticks every 4 s) closes the connection nginx opened, without a byte.
 *
 * Both nginx run in front of one edge (`tickstorm serve` from compiled output, as deployed); the
 * README's upstream lists two edges, both pointed at it here. The two tests run at once, so the
 * file takes about one idle timeout.
 */
const EDGE_ARGS = ['--rate', '100', '--heartbeat-ms', '200', '--retry-ms', '100']

/** The proxy config most people write first: nginx's defaults, so HTTP/1.0 to the upstream. */
const defaultSite = (port: number, edgePort: number) => `upstream tickstorm {
    server 127.0.0.1:${edgePort};
}

server {
    listen 127.0.0.1:${port};

    location / {
        proxy_pass http://tickstorm;
    }
}
`

/** The edge closes a connection that sent no request it could parse after 8–12 s. */
const IDLE_CLOSE_MIN_MS = 7_000
const IDLE_CLOSE_MAX_MS = 15_000

let dir: string
let edge: Edge | undefined
const proxies: Nginx[] = []
let readmeOrigin: string
let defaultOrigin: string

beforeAll(async () => {
  expectBuilt()
  dir = mkdtempSync(join(tmpdir(), 'tickstorm-nginx-http10-'))
  edge = await startEdge(EDGE_ARGS)
  const { certPath, keyPath } = selfSignedCertificate(dir)

  const readmeDir = join(dir, 'readme')
  const defaultDir = join(dir, 'default')
  mkdirSync(readmeDir)
  mkdirSync(defaultDir)
  const [readmePort, defaultPort] = [await freePort(), await freePort()]
  proxies.push(
    await startNginx({
      dir: readmeDir,
      port: readmePort,
      site: readmeNginxSiteFor({
        port: readmePort,
        edgePorts: [edge.port, edge.port],
        certPath,
        keyPath,
      }),
    }),
  )
  proxies.push(
    await startNginx({
      dir: defaultDir,
      port: defaultPort,
      site: defaultSite(defaultPort, edge.port),
    }),
  )
  readmeOrigin = `https://127.0.0.1:${readmePort}`
  defaultOrigin = `http://127.0.0.1:${defaultPort}`
}, 60_000)

afterAll(async () => {
  // Only what this file started, by PID: the nginx masters (they stop their workers), the edge.
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()))
  const code = await edge?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  expect(code).toBe(0)
})

describe.concurrent('nginx in front of an edge: HTTP/1.1 upstream or nothing', () => {
  test('the README block says proxy_http_version 1.1 and streams events through nginx', async ({
    expect,
  }) => {
    const block = readmeNginxSite()
    for (const line of UPSTREAM_HTTP11_LINES) expect(block).toContain(line)

    let session: ClientHttp2Session | undefined
    try {
      session = await connectH2(readmeOrigin)
      const health = await h2Get(session, '/healthz')
      expect(health.status).toBe(200)

      const sse = await openH2Sse(session, '/v1/stream?symbols=AAPL')
      try {
        expect(sse.status).toBe(200)
        expect(sse.headers['content-type']).toBe('text/event-stream; charset=utf-8')
        await waitFor(
          'a snapshot, 2 live events and 2 heartbeats',
          () =>
            sse.events.length >= 3 &&
            sse.comments.filter((comment) => comment.value === 'hb').length >= 2,
          { timeoutMs: 10_000, state: () => ({ events: sse.events.length }) },
        )
        expect(sse.events[0]!.value.type).toBe('snapshot')
        const ids = sse.events.map((event) => Number(event.value.lastEventId))
        expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true)
      } finally {
        sse.close()
      }
    } finally {
      session?.close()
    }
  })

  test("a default proxy_pass (HTTP/1.0 upstream) gets 502 on every route, after the edge's idle timeout", async ({
    expect,
  }) => {
    const paths = ['/healthz', '/v1/stream?symbols=AAPL', '/v1/symbols']
    const startedMs = Date.now()
    const answers = await Promise.all(
      paths.map(async (path) => {
        const response = await fetch(`${defaultOrigin}${path}`, {
          signal: AbortSignal.timeout(IDLE_CLOSE_MAX_MS + 5_000),
        })
        const body = await response.text()
        return { path, status: response.status, body, elapsedMs: Date.now() - startedMs }
      }),
    )
    for (const answer of answers) {
      expect(answer.status, answer.path).toBe(502)
      expect(answer.body).toContain('502 Bad Gateway')
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(IDLE_CLOSE_MIN_MS)
      expect(answer.elapsedMs).toBeLessThan(IDLE_CLOSE_MAX_MS)
    }
    // nginx's own words: the edge closed the connection without sending a byte of response.
    const premature = proxies[1]!
      .errorLog()
      .split('\n')
      .filter((line) =>
        line.includes('upstream prematurely closed connection while reading response header'),
      )
    expect(premature).toHaveLength(paths.length)
  }, 30_000)
})
