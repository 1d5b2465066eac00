import { describe, expect, test } from 'vitest'
import { createTransportMetrics, mergeWorkerReports } from '../../src/harness/transport-metrics.js'
import {
  formatBytes,
  formatProgressLine,
  formatRunSummary,
  formatTable,
  formatTransportTable,
  formatUs,
} from '../../src/report/console.js'
import { buildTransportResult, runPassed } from '../../src/report/transport-result.js'
import { verdictOf } from '../../src/report/verdict.js'
import { ARRIVALS, context, measure, runResult, START_MS, saturated } from './fixtures.js'

describe('formatting', () => {
  test('units at three significant figures', () => {
    expect([formatUs(850), formatUs(1234), formatUs(12_345), formatUs(2_500_000)]).toEqual([
      '850 µs',
      '1.23 ms',
      '12.3 ms',
      '2.50 s',
    ])
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 2)]).toEqual([
      '512 B',
      '1.5 KiB',
      '3.0 MiB',
    ])
  })

  test('tables align columns: first left, the rest right', () => {
    expect(
      formatTable(
        ['name', 'value'],
        [
          ['a', '1'],
          ['longer', '12345'],
        ],
      ),
    ).toBe(['name    value', '------  -----', 'a           1', 'longer  12345'].join('\n'))
  })

  test('the progress line', () => {
    expect(
      formatProgressLine({
        transport: 'sse',
        elapsedSec: 12.7,
        totalSec: 35,
        connected: 998,
        subscribers: 1000,
        deliveriesPerSec: 20_412.4,
        p99Us: 4321,
        errors: 2,
      }),
    ).toBe('[sse]  12/35 s  connected 998/1,000  deliveries/s 20,412  p99 4.32 ms  errors 2')
    expect(
      formatProgressLine({
        transport: 'ws',
        elapsedSec: 1,
        connected: 10,
        subscribers: 1000,
        deliveriesPerSec: 0,
        p99Us: 0,
        errors: 0,
        warmingUp: true,
      }),
    ).toBe('[ws]  1 s (warm-up)  connected 10/1,000  deliveries/s 0  p99 –  errors 0')
  })
})

describe('end-of-run tables', () => {
  const result = buildTransportResult(measure('sse'), context())

  test('one block per transport with latency, traffic, costs and thresholds', () => {
    const lines = formatTransportTable(result).split('\n')
    expect(lines.slice(0, 7)).toEqual([
      'SSE: 100 of 100 subscribers connected, 3.0 s measured',
      '',
      '              p50      p90      p99    p99.9      max     mean   count',
      '--------  -------  -------  -------  -------  -------  -------  ------',
      'latency   5.00 ms  9.01 ms  9.90 ms  9.99 ms  10.0 ms  5.00 ms  30,000',
      'connect   2.02 ms  2.04 ms  2.05 ms  2.05 ms  2.05 ms  2.02 ms     100',
      'recovery        –        –        –        –        –        –       0',
    ])
    expect(lines).toContain(
      '      10,000  1.4 MiB        150.0     0  0.000%     0             0       1           0         0',
    )
    expect(lines).toContain('errors by kind: ECONNRESET 1')
    expect(lines).toContain('server: CPU avg 40% max 55%, RSS max 80.0 MiB, 204.8 KiB/connection')
    expect(lines).toContain('threshold latency p(99) <= 50ms: 9.9 ms ok')
    expect(lines.some((line) => line.startsWith('INVALID'))).toBe(false)
  })

  test('an open model with watch-list changes says how many and how soon each was acknowledged', () => {
    const metrics = createTransportMetrics('ws', { nowMs: START_MS, useWasm: false })
    const askedUs = START_MS * 1000 + 500_000
    for (let i = 0; i < 3; i++) metrics.countWatchListChange()
    metrics.recordWatchListChangeUs(2_000, askedUs)
    metrics.recordWatchListChangeUs(4_000, askedUs)
    metrics.rollInterval(START_MS + 1000)
    const measured = buildTransportResult(mergeWorkerReports([metrics.toWorkerReport()]), context())
    metrics.destroy()
    measured.arrivals = ARRIVALS
    expect(measured.watchListChanges).toMatchObject({ changes: 3 })
    const line = formatTransportTable(measured)
      .split('\n')
      .find((text) => text.startsWith('arrivals: '))
    expect(line).toBe(
      'arrivals: 60 at 20/s (0 dropped at the bound of 200), 55 left after exponential stays of 3 s mean; in a session: 59.5 on average (rate × stay: 60.0), 70 at most; watch-list changes: 3 (every 10 s mean per subscriber, 2 symbols each), change → acknowledged p50 2.00 ms p99 4.00 ms max 4.00 ms (2 acknowledged)',
    )
    // Without changes the line ends where it always did.
    const { watchListChanges: _, ...unchanged } = measured.arrivals
    measured.arrivals = unchanged
    expect(formatTransportTable(measured)).toMatch(/ 70 at most$/m)
  })

  test('watch-list changes asked for and none acknowledged fail the run, saying so', () => {
    const measured = buildTransportResult(measure('ws'), context())
    measured.arrivals = ARRIVALS
    expect(measured.deliveries).toBeGreaterThan(0)
    expect(runPassed([measured])).toBe(false)
    expect(verdictOf(runResult([measured], { passed: false }))).toEqual({
      label: 'FAILED',
      reasons: [
        'ws made 0 watch-list changes and none was acknowledged: give the window more than arrivalRate.watchListChanges.everySec, or check that the target takes a change',
      ],
    })
    // Not asked for: nothing to acknowledge, and the same transport passes.
    const { watchListChanges: _, ...unchanged } = ARRIVALS
    measured.arrivals = unchanged
    expect(runPassed([measured])).toBe(true)
    expect(verdictOf(runResult([measured])).reasons).toEqual([])
  })

  test('an invalid run says so, in the heading and with its reasons', () => {
    const invalid = buildTransportResult(measure('ws'), saturated(199))
    const text = formatTransportTable(invalid)
    expect(text.split('\n')[0]).toBe(
      'WebSocket: 100 of 100 subscribers connected, 3.0 s measured  [INVALID]',
    )
    expect(text).toContain(
      'INVALID: harness CPU was ≥ 90% of its 2 core(s) for 5 s in a row: the harness, not the server, was saturated',
    )
  })

  test('the run summary ends with the verdict and shows capacity curves', () => {
    const text = formatRunSummary(
      runResult([result], {
        passed: false,
        capacity: [
          {
            transport: 'sse',
            maxPassingSubscribers: 1000,
            curve: [
              { subscribers: 500, p99Us: 9000, lossRatio: 0, errorRate: 0, passed: true },
              { subscribers: 1000, p99Us: 30_000, lossRatio: 0, errorRate: 0, passed: true },
              { subscribers: 1500, p99Us: 80_000, lossRatio: 0.001, errorRate: 0, passed: false },
            ],
          },
        ],
      }),
    )
    expect(text).toContain(
      [
        'SSE capacity: 1,000 subscribers',
        '',
        'subscribers      p99    loss  error rate  passed',
        '-----------  -------  ------  ----------  ------',
        '        500  9.00 ms  0.000%      0.000%     yes',
        '      1,000  30.0 ms  0.000%      0.000%     yes',
        '      1,500  80.0 ms  0.100%      0.000%      NO',
      ].join('\n'),
    )
    expect(
      text.startsWith('compare-transports (scenarios/compare-transports.yaml) on AMD EPYC × 2'),
    ).toBe(true)
    expect(text.endsWith('\n\nFAILED')).toBe(true)
  })
})

describe('the verdict line', () => {
  const sse = buildTransportResult(measure('sse'), context({ thresholds: { p99Ms: 5 } }))
  const ws = buildTransportResult(
    measure('ws'),
    context({ thresholds: { maxLossRatio: 0, maxErrorRate: 0.001, minDeliveriesPerSec: 1e9 } }),
  )

  test('names every failed threshold of every transport, with the value and the limit', () => {
    // Invented outcomes for loss and error rate (the fixture loses nothing), as results before
    // schema 6 named them: they read as they always did.
    ws.thresholds[0] = { name: 'maxLossRatio', limit: 0, actual: 0.002, passed: false }
    ws.thresholds[1] = { name: 'maxErrorRate', limit: 0.001, actual: 0.0125, passed: false }
    const text = formatRunSummary(runResult([sse, ws], { passed: false }))
    expect(text.split('\n').at(-1)).toBe(
      'FAILED: sse latency p(99) <= 5ms: 9.9 ms; ws loss 0.2 % > 0 %; ws error rate 1.25 % > 0.1 %; ws deliveries rate >= 1000000000: 10,000/s',
    )
  })

  test('an interrupted run says where the signal came and what was not measured', () => {
    const ok = buildTransportResult(measure('sse'), context({ thresholds: { p99Ms: 50 } }))
    const text = formatRunSummary(
      runResult([ok], {
        schemaVersion: 2,
        interrupted: true,
        interruption: {
          signal: 'SIGTERM',
          transport: 'sse',
          phase: 'measuring',
          notMeasured: ['longpoll', 'ws'],
        },
        passed: false,
      }),
    )
    expect(text.split('\n').at(-1)).toBe(
      'INTERRUPTED: SIGTERM during the sse measurement; not measured: longpoll, ws',
    )
    const early = formatRunSummary(
      runResult([], {
        schemaVersion: 2,
        interrupted: true,
        interruption: { signal: 'SIGINT', transport: 'sse', phase: 'ramp', notMeasured: ['sse'] },
        passed: false,
      }),
    )
    expect(early).toContain('\n\nnothing was measured before the run was interrupted\n\n')
    expect(early.split('\n').at(-1)).toBe(
      'INTERRUPTED: SIGINT during the sse ramp; not measured: sse',
    )
  })
})
