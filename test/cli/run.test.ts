import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type ServerResponse } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A port that was free a moment ago and that nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

async function scenario(name: string, body: string): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(path, body)
  return path
}

const SMALL = (name: string, thresholds: string) => `name: ${name}
description: a small run through the real CLI
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse, longpoll, ws]
subscribers: { count: 30, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 2
workers: 1
thresholds: ${thresholds}
`

describe('tickstorm run, report and compare', () => {
  test('a scenario runs over three transports, writes its results, and report/compare read them', async () => {
    const file = await scenario('small', SMALL('small', '{ p99Ms: 5000, maxLossRatio: 0 }'))
    const results = join(dir, 'results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
    const out = run.stdout()
    for (const label of ['SSE', 'Long polling', 'WebSocket']) expect(out).toContain(label)
    // Each ramp reports how long it took to connect everyone, measured from the ramp's start.
    for (const transport of ['sse', 'longpoll', 'ws']) {
      const took = new RegExp(`\\[${transport}\\]  30 subscribers connected in (\\d+\\.\\d\\d) s`)
      const seconds = Number(took.exec(run.stderr())?.[1])
      // 30 at 300/s are handed out over 0.1 s: the ramp cannot be done before that.
      expect(seconds, run.stderr()).toBeGreaterThanOrEqual(0.09)
      expect(seconds).toBeLessThan(10)
    }
    expect(out).toContain('PASSED')
    const [resultDir] = await readdir(results)
    expect(resultDir).toMatch(/^\d{8}T\d{6}Z-small$/)
    const path = join(results, resultDir!)
    for (const name of ['result.json', 'sse.hlog', 'longpoll.hlog', 'ws.hlog', 'report.html']) {
      expect(existsSync(join(path, name)), name).toBe(true)
    }
    const report = tickstorm(['report', path])
    expect(await report.exit, report.stderr()).toBe(0)
    expect(report.stdout()).toContain('WebSocket')
    const compare = tickstorm(['compare', path, path, '--html', join(dir, 'compare.html')])
    expect(await compare.exit, compare.stderr()).toBe(0)
    expect(compare.stdout()).toContain('p99')
    expect(existsSync(join(dir, 'compare.html'))).toBe(true)
  })

  test('the http transport puts /v1/snapshot and /v1/symbols under autocannon', async () => {
    const file = await scenario(
      'http',
      SMALL('http', '{ maxErrorRate: 0 }')
        .replace('[sse, longpoll, ws]', '[http]')
        .replace('count: 30', 'count: 4'),
    )
    const results = join(dir, 'http-results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, run.stderr()).toBe(0)
    const [resultDir] = await readdir(results)
    const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
    const http = result.transports[0]
    expect(http.transport).toBe('http')
    expect(http.deliveries).toBeGreaterThan(100)
    expect(http.errors).toBe(0)
    expect(http.latencyUs.p50).toBeGreaterThan(0)
  })

  test('faults fire during the measurement and the subscribers recover with nothing lost', async () => {
    const body = SMALL('faults', '{ maxLossRatio: 0 }')
      .replace('[sse, longpoll, ws]', '[sse, ws]')
      .replace('durationSec: 2', 'durationSec: 6')
      .replace(
        'workers: 1',
        'workers: 1\nfaults:\n  - { atSec: 1, kind: drop, fraction: 0.5 }\n  - { atSec: 2.5, kind: stall, durationSec: 0.5 }\n  - { atSec: 4, kind: storm }',
      )
    const file = await scenario('faults', body)
    const results = join(dir, 'fault-results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, run.stdout() + run.stderr()).toBe(0)
    expect(run.stdout()).toContain(
      'faults: drop 50% at 1 s, stall 100% at 2.5 s, storm 100% at 4 s',
    )
    const [resultDir] = await readdir(results)
    const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
    for (const transport of result.transports) {
      // Half the subscribers, then all of them: 15 + 30 reconnects, each one resumed by id.
      expect(transport.reconnects).toBe(45)
      expect(transport.recoveryUs.count).toBe(45)
      expect(transport.lost).toBe(0)
      expect(transport.duplicates).toBe(0)
      expect(transport.resets).toBe(0)
      expect(transport.faults.map((fault: { kind: string }) => fault.kind)).toEqual([
        'drop',
        'stall',
        'storm',
      ])
    }
  })

  test('a crashed and restarted server: every subscriber comes back, with a reset (the ring died with it)', async () => {
    const body = SMALL('restart', '{ maxErrorRate: 1 }')
      .replace('[sse, longpoll, ws]', '[sse]')
      .replace('durationSec: 2', 'durationSec: 5')
      .replace('workers: 1', 'workers: 1\nfaults:\n  - { atSec: 1, kind: restart }')
    const file = await scenario('restart', body)
    const results = join(dir, 'restart-results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, run.stdout() + run.stderr()).toBe(0)
    const [resultDir] = await readdir(results)
    const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
    const sse = result.transports[0]
    expect(sse.faults).toEqual([{ atSec: 1, kind: 'restart', fraction: 1 }])
    expect(sse.reconnects).toBe(30)
    expect(sse.recoveryUs.count).toBe(30)
    expect(sse.resets).toBe(30)
    expect(sse.subscribers.connectedAtEnd).toBe(30)
  })

  test('a broken threshold exits 3', async () => {
    const file = await scenario(
      'strict',
      SMALL('strict', '{ p99Ms: 0.001 }').replace('[sse, longpoll, ws]', '[sse]'),
    )
    const run = tickstorm(['run', file, '--results', join(dir, 'strict-results')])
    expect(await run.exit).toBe(3)
    // The last line says which transport broke which threshold, with the value and the limit.
    expect(run.stdout()).toMatch(/\nFAILED: sse latency p\(99\) <= 0\.001ms: [\d.]+ ms\n/)
  })

  test('a transport that crashes fails with its cause; the others are measured and written', async () => {
    // A server that lists its symbols once, then answers 500: the second transport cannot start.
    let listed = 0
    const streams = new Set<ServerResponse>()
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith('/v1/symbols')) {
        listed++
        res.writeHead(listed === 1 ? 200 : 500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ count: 1, symbols: [{ symbol: 'ONE' }] }))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      streams.add(res)
      req.on('close', () => streams.delete(res))
    })
    let q = 0
    const timer = setInterval(() => {
      const frame = `event: quote\ndata: {"ts":${Date.now() * 1000},"sym":"ONE","q":${++q}}\n\n`
      for (const res of streams) res.write(frame)
    }, 5)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const file = await scenario(
        'one-crashes',
        [
          'name: one-crashes',
          'description: the second transport cannot start',
          `target: { url: "http://127.0.0.1:${(server.address() as AddressInfo).port}" }`,
          'transports: [sse, eventsource]',
          'subscribers: { count: 2, watchList: { size: 1, pick: fixed, symbols: [ONE] } }',
          'warmupSec: 0',
          'durationSec: 1',
          'thresholds: { p99Ms: 5000 }',
        ].join('\n'),
      )
      const results = join(dir, 'one-crashes-results')
      const run = tickstorm(['run', file, '--results', results, '--workers', '0'])
      expect(await run.exit, run.stderr()).toBe(3)
      expect(run.stdout()).toMatch(/\nFAILED: eventsource failed: .*answered 500.*\n/)
      const [resultDir] = await readdir(results)
      const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
      expect(result.schemaVersion).toBe(6)
      expect(result.passed).toBe(false)
      expect(result.transports.map((t: { transport: string }) => t.transport)).toEqual([
        'sse',
        'eventsource',
      ])
      expect(result.transports[0].failure).toBeUndefined()
      expect(result.transports[0].deliveries).toBeGreaterThan(50)
      expect(result.transports[1].failure.message).toContain('answered 500')
      expect(result.transports[1].failure.code).toBe('TS_ERR_INVALID_OPTIONS')
      // Read back, the result gives the same verdict (report exits as run did).
      const report = tickstorm(['report', join(results, resultDir!)])
      expect(await report.exit, report.stderr()).toBe(3)
      expect(report.stdout()).toContain('FAILED: eventsource failed: ')
    } finally {
      clearInterval(timer)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  test('stall and restart against a { url } target are refused up front: exit 2, naming faults[i].kind', async () => {
    // The harness did not start that server, so it can neither freeze nor kill it: accepted,
    // such a fault would do nothing and still be reported as applied.
    const file = await scenario(
      'faults-on-url',
      [
        'name: faults-on-url',
        'description: process faults against a server the harness did not start',
        `target: { url: "http://127.0.0.1:${await closedPort()}" }`,
        'transports: [sse]',
        'subscribers: { count: 1 }',
        'durationSec: 4',
        'faults:',
        '  - { atSec: 1, kind: drop, fraction: 0.5 }',
        '  - { atSec: 2, kind: stall, durationSec: 1 }',
        '  - { atSec: 3, kind: restart }',
      ].join('\n'),
    )
    const run = tickstorm(['run', file, '--results', join(dir, 'faults-on-url-results')])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('TS_ERR_INVALID_SCENARIO')
    expect(run.stderr()).toContain('faults[1].kind')
    expect(run.stderr()).toContain('faults[2].kind')
    expect(run.stderr()).not.toContain('faults[0].kind')
  })

  test('a missing or unreadable scenario file is a bad scenario: exit 2, one line naming it', async () => {
    const missing = join(dir, 'no-such-scenario.yaml')
    const run = tickstorm(['run', missing])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toBe(
      `tickstorm: cannot read scenario ${missing}: no such file [TS_ERR_INVALID_SCENARIO]\n`,
    )
    const directory = tickstorm(['run', dir])
    expect(await directory.exit).toBe(2)
    expect(directory.stderr()).toBe(
      `tickstorm: cannot read scenario ${dir}: it is a directory [TS_ERR_INVALID_SCENARIO]\n`,
    )
  })

  test('a URL target nobody listens on is TS_ERR_TARGET_UNREACHABLE with the cause, exit 1', async () => {
    const port = await closedPort()
    const file = await scenario(
      'unreachable',
      SMALL('unreachable', '{ p99Ms: 100 }')
        .replace('target: embedded', `target: { url: 'http://127.0.0.1:${port}' }`)
        .replace('server: { preset: normal, seed: 3 }\n', ''),
    )
    const run = tickstorm(['run', file, '--results', join(dir, 'unreachable-results')])
    expect(await run.exit).toBe(1)
    expect(run.stderr()).toBe(
      `tickstorm: cannot reach the target http://127.0.0.1:${port}: ECONNREFUSED 127.0.0.1:${port} (is its server running?) [TS_ERR_TARGET_UNREACHABLE]\n`,
    )
  })

  test('an invalid scenario exits 2 and lists every problem with its path and value', async () => {
    const file = await scenario(
      'bad',
      `name: Bad Name
description: x
transports: [sse, carrier-pigeon]
subscribers: { count: 0, colour: blue }
durationSec: 5
`,
    )
    const run = tickstorm(['run', file])
    expect(await run.exit).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('TS_ERR_INVALID_SCENARIO')
    expect(stderr).toContain('name')
    expect(stderr).toContain('transports[1]')
    expect(stderr).toContain('subscribers.count')
    expect(stderr).toContain('subscribers.colour')
  })

  test('fixed symbols the target does not offer are a bad scenario, named by path: exit 2', async () => {
    const file = await scenario(
      'unknown-symbols',
      `name: unknown-symbols
description: a watch-list of names the market does not have
server: { preset: normal, seed: 3 }
transports: [sse]
subscribers: { count: 2, watchList: { pick: fixed, symbols: [ZZZZ, QQQQ] } }
warmupSec: 0
durationSec: 1
workers: 1
`,
    )
    const run = tickstorm(['run', file])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('TS_ERR_INVALID_SCENARIO')
    expect(run.stderr()).toContain(
      '`subscribers.watchList.symbols` must be symbols the target offers, got ["ZZZZ","QQQQ"]',
    )
  })

  test('a missing result directory is a coded error, exit 2', async () => {
    const run = tickstorm(['report', join(dir, 'nothing-here')])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('TS_ERR_INVALID_RESULT')
  })
})
