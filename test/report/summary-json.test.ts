import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import type { TransportResult } from '../../src/report/result-schema.js'
import { SUMMARY_VERSION, summaryOf, writeSummaryJson } from '../../src/report/summary-json.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { context, measure, runResult } from './fixtures.js'

const passing = (): TransportResult => buildTransportResult(measure('sse'), context())
/** p99 ≈ 99 ms against the fixture's 50 ms. */
const slow = (): TransportResult => buildTransportResult(measure('ws', { scale: 10 }), context())

describe('summaryOf', () => {
  test('a passing run: version, identity, verdict and the transport figures in ms', () => {
    const transport = passing()
    const summary = summaryOf(runResult([transport], { targetKind: 'tickstorm', source: 'server' }))
    expect(summary).toMatchObject({
      summaryVersion: 1,
      runId: '20251124T060000Z-compare-transports',
      scenario: 'compare-transports',
      target: 'embedded',
      targetKind: 'tickstorm',
      source: 'server',
      passed: true,
      interrupted: false,
      verdict: 'PASSED',
      reasons: [],
    })
    expect(SUMMARY_VERSION).toBe(1)
    const [sse] = summary.transports
    expect(sse).toMatchObject({
      transport: 'sse',
      subscribers: { asked: 100, connected: transport.subscribers.connectedMax },
      measuredSec: 3,
      deliveries: 30_000,
      lost: transport.lost,
      errors: 1,
      valid: true,
      invalidReasons: [],
      failure: null,
    })
    expect(sse!.latencyMs.p99).toBeCloseTo(transport.latencyUs.p99 / 1000, 6)
    expect(sse!.latencyMs.p99).toBeGreaterThan(9)
    expect(sse!.latencyMs.p99).toBeLessThan(11)
    expect(sse!.latencyMs.max).toBeCloseTo(transport.latencyUs.max / 1000, 6)
    // The fixture's old keys, as the expressions they mean.
    expect(sse!.thresholds.map((t) => [t.name, t.expression, t.limit, t.unit, t.passed])).toEqual([
      ['latency', 'p(99) <= 50ms', 50, 'ms', true],
      ['loss', 'rate <= 0', 0, 'ratio', true],
    ])
    expect(sse!.thresholds[0]).toMatchObject({ overSec: null, worstWindowAtSec: null })
    expect(summary.abortedBy).toBeNull()
  })

  test('older results without targetKind or source give null, not a missing key', () => {
    const summary = summaryOf(runResult([passing()]))
    expect(summary.targetKind).toBeNull()
    expect(summary.source).toBeNull()
    expect(Object.keys(summary)).toContain('targetKind')
  })

  test('a failed threshold: FAILED with the verdict reason and the threshold not passed', () => {
    const summary = summaryOf(runResult([passing(), slow()], { passed: false }))
    expect(summary.verdict).toBe('FAILED')
    expect(summary.reasons).toEqual([
      expect.stringMatching(/^ws latency p\(99\) <= 50ms: 9\d(\.\d)? ms$/),
    ])
    const p99 = summary.transports[1]!.thresholds.find((t) => t.name === 'latency')!
    expect(p99.passed).toBe(false)
    expect(p99.actual).toBeGreaterThan(50)
  })

  test('a run a threshold aborted: abortedBy, the reason first, the window of the threshold', () => {
    const ws = slow()
    ws.thresholds = [
      {
        name: 'latency',
        expression: 'p(99) < 50ms',
        limit: 50,
        actual: 99,
        unit: 'ms',
        overSec: 5,
        worstWindowAtSec: 3,
        abortOnFail: true,
        passed: false,
      },
    ]
    const abortedBy = { transport: 'ws' as const, threshold: 'latency p(99) < 50ms', atSec: 8 }
    const summary = summaryOf(runResult([ws], { schemaVersion: 6, passed: false, abortedBy }))
    expect(summary).toMatchObject({ verdict: 'FAILED', abortedBy })
    expect(summary.reasons).toEqual([
      'ws latency p(99) < 50ms aborted the run after 8 s of measurement',
      'ws latency p(99) < 50ms over 5 s: 99 ms (worst 5 s window, from 3 s)',
    ])
    expect(summary.transports[0]!.thresholds[0]).toMatchObject({ overSec: 5, worstWindowAtSec: 3 })
  })

  test('an invalid run: valid false with its reasons', () => {
    const invalid = buildTransportResult(
      measure('sse'),
      context({
        validity: {
          valid: false,
          invalidReasons: ['harness CPU 99% > 90%', 'event loop p99 <250 ms> & late'],
        },
      }),
    )
    const summary = summaryOf(runResult([invalid], { passed: false }))
    expect(summary.transports[0]!.valid).toBe(false)
    expect(summary.transports[0]!.invalidReasons.length).toBeGreaterThan(0)
    expect(summary.reasons[0]).toContain('sse invalid')
  })

  test('a crashed transport and an interrupted run', () => {
    const crashed: TransportResult = {
      ...passing(),
      failure: { message: 'server exited\nwith code 1', code: 'TS_ERR_X' },
    }
    const summary = summaryOf(
      runResult([crashed], {
        passed: false,
        interrupted: true,
        interruption: {
          signal: 'SIGINT',
          transport: 'sse',
          phase: 'measuring',
          notMeasured: ['ws'],
        },
      }),
    )
    expect(summary.interrupted).toBe(true)
    expect(summary.verdict).toBe('INTERRUPTED')
    expect(summary.transports[0]!.failure).toEqual({
      message: 'server exited\nwith code 1',
      code: 'TS_ERR_X',
    })
    expect(summary.reasons).toEqual([
      'SIGINT during the sse measurement',
      'not measured: ws',
      'sse failed: server exited',
    ])
  })
})

test('writeSummaryJson writes parseable JSON and leaves no temporary file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tickstorm-summary-'))
  try {
    const path = join(dir, 'summary.json')
    const result = runResult([passing()])
    await writeSummaryJson(path, result)
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(summaryOf(result))),
    )
    expect(await readdir(dir)).toEqual(['summary.json'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
