import { describe, expect, test } from 'vitest'
import {
  formatBytes,
  formatProgressLine,
  formatRunSummary,
  formatTable,
  formatTransportTable,
  formatUs,
} from '../../src/report/console.js'
import { buildTransportResult } from '../../src/report/result-schema.js'
import { context, measure, runResult } from './fixtures.js'

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
    expect(lines).toContain('threshold p99Ms ≤ 50: actual 9.903 ok')
    expect(lines.some((line) => line.startsWith('INVALID'))).toBe(false)
  })

  test('an invalid run says so, in the heading and with its reasons', () => {
    const invalid = buildTransportResult(
      measure('ws'),
      context({ harness: { cpuPercentSamples: [199, 199, 199, 199, 199], cpuUs: 1, cores: 2 } }),
    )
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
