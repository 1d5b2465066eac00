import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { nowUs } from '../../src/clock.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { formatVerdict } from '../../src/report/verdict.js'

/**
 * The harness against streams not shaped like tickstorm's: a plain node:http SSE server whose
 * every event is the same frame (unnamed, without `q`, not JSON) or that sends nothing at all.
 * None of them may pass, and the verdict says why.
 */
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ),
  )
})

/** An SSE server sending `frameOf()` every 5 ms to each stream, or nothing when it is null. */
async function startStream(frameOf: (() => string) | null): Promise<string> {
  const streams = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/symbols')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ count: 1, symbols: [{ symbol: 'ODD' }] }))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.write('retry: 100\n\n')
    streams.add(res)
    req.on('close', () => streams.delete(res))
  })
  const timer =
    frameOf === null
      ? undefined
      : setInterval(() => {
          const frame = frameOf()
          for (const res of streams) res.write(frame)
        }, 5)
  server.on('close', () => clearInterval(timer))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function run(url: string, transport: 'sse' | 'eventsource', thresholds: string) {
  const scenario = parseScenario(
    [
      'name: odd-stream',
      'description: the harness against a stream not shaped like tickstorm',
      `target: { url: ${url} }`,
      `transports: [${transport}]`,
      'subscribers:',
      '  count: 2',
      '  watchList: { size: 1, pick: fixed, symbols: [ODD] }',
      'warmupSec: 0',
      'durationSec: 1',
      `thresholds: ${thresholds}`,
    ].join('\n'),
    'odd-stream.yaml',
  )
  const { result } = await runScenario(scenario, {
    serverBin: 'unused',
    scenarioFile: 'odd-stream.yaml',
    commit: 'test',
    workers: 0,
  })
  return { result, transport: result.transports[0]!, verdict: formatVerdict(result) }
}

let q = 0
const tick = (body: string) => `data: ${body}\n\n`

describe('a stream the harness cannot read never passes', () => {
  test('a stream that sends nothing fails: sse delivered nothing', async () => {
    const url = await startStream(null)
    const { result, transport, verdict } = await run(url, 'sse', '{ maxLossRatio: 0 }')
    expect(transport.deliveries).toBe(0)
    expect(result.passed).toBe(false)
    expect(verdict).toContain('sse delivered nothing')
  })

  test('unnamed message events are read by the eventsource engine like named ones', async () => {
    const url = await startStream(() => tick(`{"ts":${nowUs()},"sym":"ODD","q":${++q}}`))
    const { result, transport } = await run(url, 'eventsource', '{ maxLossRatio: 0 }')
    expect(transport.deliveries).toBeGreaterThan(50)
    expect(transport.errorsByKind['unreadable-event'] ?? 0).toBe(0)
    expect(result.passed).toBe(true)
  })

  test('unnamed events without q are unreadable errors, not duplicates (eventsource)', async () => {
    const url = await startStream(() => tick(`{"ts":${nowUs()},"sym":"ODD"}`))
    const { result, transport, verdict } = await run(
      url,
      'eventsource',
      '{ maxLossRatio: 0, maxErrorRate: 0.01 }',
    )
    expect(transport.duplicates).toBe(0)
    expect(transport.deliveries).toBe(0)
    expect(transport.errorsByKind['unreadable-event']).toBeGreaterThan(50)
    expect(result.passed).toBe(false)
    expect(verdict).toContain('eventsource delivered nothing')
    expect(verdict).toMatch(/eventsource errors rate <= 0\.01: \d+(\.\d+)? %/)
  })

  test('events without q are unreadable errors, not duplicates (sse)', async () => {
    const url = await startStream(() => `event: quote\ndata: {"ts":${nowUs()},"sym":"ODD"}\n\n`)
    const { result, transport, verdict } = await run(url, 'sse', '{ maxLossRatio: 0 }')
    expect(transport.duplicates).toBe(0)
    expect(transport.errorsByKind['unreadable-event']).toBeGreaterThan(50)
    expect(result.passed).toBe(false)
    expect(verdict).toContain('sse delivered nothing')
  })

  test('non-JSON data is an unreadable error that maxErrorRate judges (sse)', async () => {
    const url = await startStream(() => tick('not json at all'))
    const { result, transport, verdict } = await run(
      url,
      'sse',
      '{ maxLossRatio: 0, maxErrorRate: 0.5 }',
    )
    expect(transport.errorsByKind['unreadable-event']).toBeGreaterThan(50)
    expect(transport.errorRate).toBeGreaterThan(0.9)
    expect(result.passed).toBe(false)
    expect(verdict).toContain('sse delivered nothing')
    expect(verdict).toMatch(/sse errors rate <= 0\.5: \d+(\.\d+)? %/)
  })
})
