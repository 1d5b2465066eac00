import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'

/**
 * A target's credentials reach every subscriber's request: a push server (written here, not
 * tickstorm) that streams only to requests carrying an API key header, a session cookie and a
 * token in the query, and answers 401 to any other. With the three in `target`, the run delivers
 * and no request is refused; without the cookie, every connect is refused and counted.
 */

const servers: Server[] = []
const timers: NodeJS.Timeout[] = []
afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer)
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

async function startGuardedServer() {
  const streams = new Set<ServerResponse>()
  const seen = { allowed: 0, refused: 0 }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const allowed =
      req.headers['x-api-key'] === 'k-123' &&
      req.headers.cookie === 'session=s-456; region=eu' &&
      url.searchParams.get('token') === 't-789'
    if (!allowed) {
      seen.refused++
      res.writeHead(401, { 'content-type': 'text/plain' }).end('who are you?\n')
      return
    }
    seen.allowed++
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('retry: 50\n\n')
    streams.add(res)
    req.on('close', () => streams.delete(res))
  })
  let q = 0
  timers.push(
    setInterval(() => {
      q++
      const frame = `id: ${q}\ndata: {"ts":${Date.now() * 1000},"sym":"KEY","q":${q}}\n\n`
      for (const res of streams) res.write(frame)
    }, 5),
  )
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

function scenarioFor(url: string, cookies: string): ReturnType<typeof parseScenario> {
  return parseScenario(
    [
      'name: credentials',
      'description: a guarded push server',
      'target:',
      '  kind: generic',
      `  url: ${url}`,
      '  sse: { path: "/events?topics={symbols}" }',
      '  headers: { X-Api-Key: k-123 }',
      `  cookies: ${cookies}`,
      '  query: { token: t-789 }',
      'transports: [sse, eventsource]',
      'subscribers: { count: 3, watchList: { pick: fixed, symbols: [KEY] } }',
      'warmupSec: 0.5',
      'durationSec: 1',
    ].join('\n'),
    'credentials.yaml',
  )
}

const RUN = {
  serverBin: 'unused: a URL target',
  scenarioFile: 'credentials.yaml',
  commit: 'test',
  workers: 0,
  retryMs: 100,
}

test("headers, cookies and query credentials go on every subscriber's requests", async () => {
  const server = await startGuardedServer()
  const { result } = await runScenario(
    scenarioFor(server.url, '{ session: s-456, region: eu }'),
    RUN,
  )
  for (const transport of result.transports) {
    expect(transport.failure, transport.transport).toBeUndefined()
    expect(transport.deliveries, transport.transport).toBeGreaterThan(0)
    expect(transport.errors, transport.transport).toBe(0)
  }
  expect(server.seen.refused).toBe(0)
  expect(server.seen.allowed).toBe(6)
})

test('a missing credential is a refused connect, counted by status, never a silent pass', async () => {
  const server = await startGuardedServer()
  const { result } = await runScenario(
    { ...scenarioFor(server.url, '{ session: s-456 }'), transports: ['sse'] },
    RUN,
  ).catch((error: unknown) => ({ result: null, error }))
  // Nobody connects: the ramp gives up (the run cannot start), or the transport delivers nothing.
  if (result !== null) {
    expect(result.passed).toBe(false)
    expect(result.transports[0]?.deliveries ?? 0).toBe(0)
  }
  expect(server.seen.allowed).toBe(0)
  expect(server.seen.refused).toBeGreaterThan(0)
}, 40_000)
