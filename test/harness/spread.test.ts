import { connect } from 'node:net'
import { describe, expect, test } from 'vitest'
import { nowUs } from '../../src/clock.js'
import {
  createSpreadSampler,
  mergeSpread,
  SPREAD_EVERY,
} from '../../src/harness/broadcast-spread.js'
import {
  createEventObserver,
  readSnapshot,
  readTickFields,
  type TickFields,
} from '../../src/harness/event-observer.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { createTransportMetrics } from '../../src/harness/transport-metrics.js'
import { decodeHistogram } from '../../src/report/measurements.js'
import { createSseParser } from '../../src/wire/sse-parser.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

describe('broadcast spread', () => {
  test('a broadcast to every subscriber has a spread ≥ 0 with p99 ≥ p50, every sample complete, and no staleness', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const scenario = parseScenario(
      [
        'name: broadcast',
        'description: every subscriber on the same two symbols',
        'target:',
        `  url: ${server.url}`,
        'transports: [sse]',
        'subscribers:',
        '  count: 20',
        '  watchList: { size: 2, pick: fixed, symbols: [AAPL, MSFT] }',
        'warmupSec: 1',
        'durationSec: 3',
      ].join('\n'),
      'broadcast.yaml',
    )
    const { result } = await runScenario(scenario, {
      serverBin: 'unused',
      scenarioFile: 'broadcast.yaml',
      commit: 'test',
      workers: 0,
    })
    const sse = result.transports[0]!
    const spread = sse.spread
    expect(spread).toBeDefined()
    if (spread === undefined) return
    // AAPL and MSFT are the busiest symbols: 1 in 16 of their events over ~2 s judged.
    expect(spread.spreadUs.count).toBeGreaterThan(5)
    expect(spread.spreadUs.p50).toBeGreaterThanOrEqual(0)
    expect(spread.spreadUs.p99).toBeGreaterThanOrEqual(spread.spreadUs.p50)
    expect(spread.spreadUs.max).toBeLessThanOrEqual(sse.latencyUs.max)
    // Nothing was lost: every sample reached all 20.
    expect(sse.lost).toBe(0)
    expect(spread.incomplete).toBe(0)
    expect(decodeHistogram(sse.extraHistograms?.spreadUs ?? '').totalCount).toBe(
      spread.spreadUs.count,
    )
    // No subscriber fell behind: nothing was conflated, so no staleness (the opening snapshots,
    // in the warm-up, replaced nothing).
    expect(sse.resets).toBe(0)
    expect(sse.stalenessUs?.count).toBe(0)
  })
})

describe("merging the pools' samples", () => {
  test('first = min, last = max, receipts summed against the watchers of every pool; the window and the settle bound what is judged', () => {
    const T = 1_000_000_000
    const a = createSpreadSampler()
    const b = createSpreadSampler()
    a.watch(['AAPL'])
    a.watch(['AAPL', 'MSFT'])
    b.watch(null) // a subscriber of every symbol counts for AAPL and MSFT alike
    const q = SPREAD_EVERY * 3
    // AAPL q: three watch it, four receipts (three live, 100 µs … 900 µs after T + 1 s).
    a.receipt(a.symbol('AAPL'), q, T + 1_000_100, true)
    a.receipt(a.symbol('AAPL'), q, T + 1_000_500, true)
    b.receipt(b.symbol('AAPL'), q, T + 1_000_900, true)
    // A replayed receipt counts as received, sets no end.
    b.receipt(b.symbol('AAPL'), q, T + 1_900_000, false)
    a.unwatch(['AAPL'])
    a.watch(['AAPL'])
    // MSFT q: two watch it (a's second, b's), one received it.
    a.receipt(a.symbol('MSFT'), q, T + 1_000_000, true)
    // Before the window (warm-up), and too close to the report (not settled): not judged.
    a.receipt(a.symbol('AAPL'), 0, T - 1, true)
    a.receipt(a.symbol('AAPL'), q + SPREAD_EVERY, T + 2_500_000, true)
    const merged = mergeSpread([a.report(T + 3_000_000), b.report(T + 3_100_000)], T)
    expect(merged).not.toBeNull()
    expect(merged!.spread.totalCount).toBe(2)
    expect(merged!.spread.maxValue).toBe(800)
    expect(merged!.spread.minNonZeroValue).toBe(800)
    expect(merged!.incomplete).toBe(1)
    expect(mergeSpread([], T)).toBeNull()
  })
})

describe('staleness under conflation', () => {
  test("a stalled reader's conflated snapshot records how old each replaced value was", async () => {
    // As test/server/slow-consumer.test.ts: a rate that fills a stalled socket's buffers in seconds.
    const server = await startServer({ ratePerSec: 8000, slowConsumerTimeoutMs: 60_000 })
    const metrics = createTransportMetrics('sse', { nowMs: Date.now(), useWasm: false })
    const observer = createEventObserver(metrics, null)
    const fields: TickFields = { ts: 0, sym: '', q: 0 }
    let receiptUs = 0
    let conflated = 0
    let ticks = 0
    const parser = createSseParser({
      onEvent: (event) => {
        if (event.type === 'snapshot') {
          const snapshot = readSnapshot(event.data)
          if (snapshot === null) throw new Error(`unreadable snapshot: ${event.data}`)
          if (snapshot.conflated) conflated++
          observer.snapshot(snapshot, receiptUs)
        } else if (readTickFields(event.data, fields)) {
          ticks++
          observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
        }
      },
    })
    const connectedUs = nowUs()
    const socket = connect(server.port, '127.0.0.1')
    let head = ''
    let body = false
    socket.on('data', (chunk: Buffer) => {
      receiptUs = nowUs()
      let text = chunk.toString('latin1')
      if (!body) {
        head += text
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        body = true
        observer.connected(receiptUs)
        text = head.slice(end + 4)
      }
      // Chunked framing: strip the size lines; good enough for a test that only reads events.
      parser.feed(Buffer.from(text.replace(/\r\n[0-9a-f]+\r\n/g, ''), 'latin1'))
    })
    socket.on('error', () => {})
    socket.write('GET /v1/stream?snapshot=false HTTP/1.1\r\nHost: x\r\n\r\n')
    await waitFor('ticks flowing', () => ticks > 100)
    expect(decodeHistogram(metrics.toWorkerReport().staleness).totalCount).toBe(0)
    socket.pause()
    await waitFor('pushed back', () => server.stats().sse.slowEvents >= 1, { timeoutMs: 30_000 })
    socket.resume()
    await waitFor('a conflated snapshot', () => conflated > 0, { timeoutMs: 20_000 })
    socket.destroy()
    const staleness = decodeHistogram(metrics.toWorkerReport().staleness)
    metrics.destroy()
    // One per symbol whose value the snapshot replaced (the busy ones moved on during the stall).
    expect(staleness.totalCount).toBeGreaterThan(0)
    expect(staleness.minNonZeroValue).toBeGreaterThan(0)
    // No held value is older than the connection it came on.
    expect(staleness.maxValue).toBeLessThanOrEqual(nowUs() - connectedUs)
  })
})
