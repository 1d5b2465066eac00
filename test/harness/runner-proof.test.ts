import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { nowUs } from '../../src/clock.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { runDirName, writeResultDir } from '../../src/report/write-result.js'

/**
 * The harness measured against servers whose behaviour is known exactly: a plain node:http SSE
 * server that stamps every event as scheduled a known time before it sends it, and can skip or
 * repeat a sequence number on purpose.
 */
interface KnownServer {
  readonly url: string
  close(): Promise<void>
}

const servers: KnownServer[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function startKnownServer(options: {
  /** Delay of event n (its send time minus its scheduled time), ms. */
  delayMs: (n: number) => number
  /** The per-symbol sequence to send for event n (default n + 1). */
  seqOf?: (n: number) => number
  everyMs?: number
  /** Count events from the first subscriber's connection rather than from the start. */
  fromFirstSubscriber?: boolean
}): Promise<KnownServer> {
  const streams = new Set<ServerResponse>()
  let n = 0
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/symbols')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ count: 1, symbols: [{ symbol: 'KNWN' }] }))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.write('retry: 100\n\n')
    if (options.fromFirstSubscriber && streams.size === 0) n = 0
    streams.add(res)
    req.on('close', () => streams.delete(res))
  })
  const timer = setInterval(() => {
    const q = options.seqOf ? options.seqOf(n) : n + 1
    const ts = nowUs() - options.delayMs(n) * 1000
    const frame = `id: ${n + 1}\nevent: quote\ndata: {"ts":${ts},"sym":"KNWN","q":${q}}\n\n`
    n++
    for (const res of streams) res.write(frame)
  }, options.everyMs ?? 2)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const known: KnownServer = {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      clearInterval(timer)
      for (const res of streams) res.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  servers.push(known)
  return known
}

function scenarioFor(url: string, durationSec: number, subscribers = 5) {
  return parseScenario(
    [
      'name: known-server',
      'description: the harness against a server of known behaviour',
      'target:',
      `  url: ${url}`,
      'transports: [sse]',
      'subscribers:',
      `  count: ${subscribers}`,
      '  watchList: { size: 1, pick: fixed, symbols: [KNWN] }',
      'warmupSec: 1',
      `durationSec: ${durationSec}`,
      'thresholds: { p99Ms: 1000 }',
    ].join('\n'),
    'known-server.yaml',
  )
}

async function run(url: string, durationSec: number, subscribers = 5) {
  const resultsDir = await mkdtemp(join(tmpdir(), 'tickstorm-results-'))
  dirs.push(resultsDir)
  const { result, latencyIntervals } = await runScenario(
    scenarioFor(url, durationSec, subscribers),
    {
      serverBin: 'unused',
      scenarioFile: 'known-server.yaml',
      commit: 'test',
      workers: 0,
    },
  )
  // As `tickstorm run` writes it.
  const dir = join(resultsDir, runDirName(result))
  await writeResultDir(dir, result, latencyIntervals)
  return { result, dir }
}

describe('the harness against a server of known behaviour', () => {
  test('measured p50 and p99 match a known delay distribution within 5 % (+2 ms)', async () => {
    // 98 % of events 20 ms late, 2 % 60 ms late: p50 = 20 ms, p99 = 60 ms.
    const server = await startKnownServer({ delayMs: (n) => (n % 50 === 7 ? 60 : 20) })
    const { result, dir } = await run(server.url, 3)
    const sse = result.transports[0]!
    expect(sse.deliveries).toBeGreaterThan(1000)
    const p50Ms = sse.latencyUs.p50 / 1000
    const p99Ms = sse.latencyUs.p99 / 1000
    expect(Math.abs(p50Ms - 20)).toBeLessThanOrEqual(20 * 0.05 + 2)
    expect(Math.abs(p99Ms - 60)).toBeLessThanOrEqual(60 * 0.05 + 2)
    expect(sse.gaps).toBe(0)
    expect(sse.duplicates).toBe(0)
    // What was written reads back: the result, the HDR log and an offline report.
    const written = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8'))
    expect(written.transports[0].latencyUs.p50).toBe(sse.latencyUs.p50)
    expect(await readFile(join(dir, 'sse.hlog'), 'utf8')).toContain('#[StartTime:')
    expect(await readFile(join(dir, 'report.html'), 'utf8')).toContain('uPlot')
  })

  test('an injected gap and an injected duplicate are both detected', async () => {
    // The sequence runs 1, 2, …; 2 s after the subscriber connects (past the 1-s warm-up) one
    // number is skipped, 2.8 s after it one is repeated.
    const server = await startKnownServer({
      delayMs: () => 1,
      seqOf: (n) => (n < 1000 ? n + 1 : n < 1400 ? n + 2 : n + 1),
      fromFirstSubscriber: true,
    })
    const { result } = await run(server.url, 3, 1)
    const sse = result.transports[0]!
    expect(sse.gaps).toBe(1)
    expect(sse.lost).toBe(1)
    expect(sse.duplicates).toBe(1)
    expect(result.passed).toBe(true)
  })

  test('a saturated harness is flagged and the run does not pass', async () => {
    const server = await startKnownServer({ delayMs: () => 1 })
    // Block this thread (the inline harness's event loop) for 120 ms every 200 ms.
    const hog = setInterval(() => {
      const until = Date.now() + 120
      while (Date.now() < until) {
        // busy: the harness cannot read its sockets meanwhile
      }
    }, 200)
    try {
      const { result } = await run(server.url, 3, 1)
      const sse = result.transports[0]!
      expect(sse.validity.valid).toBe(false)
      expect(sse.validity.invalidReasons.join('\n')).toMatch(/event-loop delay/)
      expect(result.passed).toBe(false)
    } finally {
      clearInterval(hog)
    }
  })
})
