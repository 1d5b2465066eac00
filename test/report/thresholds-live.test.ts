import { describe, expect, test } from 'vitest'
import type { LiveWindow } from '../../src/report/live.js'
import {
  emptyCounters,
  emptyHistogram,
  type MetricCounters,
  type TransportName,
} from '../../src/report/measurements.js'
import {
  compileThresholds,
  createLiveJudge,
  thresholdsSchema,
} from '../../src/report/thresholds.js'

/**
 * abortOnFail, judged on each report's live window: only during the measurement, only after
 * delayAbortEval, on everything so far or on the last `over` seconds, once, for the transports
 * a threshold names.
 */

function rules(block: unknown) {
  return compileThresholds(thresholdsSchema.parse(block))
}

/**
 * A run's reports, one a second: each second's latency (ms, per delivery) and counters; the
 * window so far adds them up, as the session's live window does.
 */
function reports(
  seconds: readonly { latencyMs: number; deliveries: number; errors?: number; connects?: number }[],
  options: { measuring?: boolean; startMs?: number } = {},
): LiveWindow[] {
  const latencyUs = emptyHistogram()
  const counters: MetricCounters = emptyCounters()
  return seconds.map((second, index) => {
    const lastLatencyUs = emptyHistogram()
    lastLatencyUs.recordValueWithCount(second.latencyMs * 1000, second.deliveries)
    const lastCounters: MetricCounters = {
      ...emptyCounters(),
      deliveries: second.deliveries,
      errors: second.errors ?? 0,
      connects: second.connects ?? 0,
    }
    latencyUs.add(lastLatencyUs)
    for (const key of Object.keys(counters) as (keyof MetricCounters)[]) {
      counters[key] += lastCounters[key]
    }
    const so = emptyHistogram()
    so.add(latencyUs)
    return {
      measuring: options.measuring ?? true,
      startMs: options.startMs ?? 1_000_000,
      sec: index + 1,
      latencyUs: so,
      connectTimeUs: emptyHistogram(),
      recoveryUs: emptyHistogram(),
      counters: { ...counters },
      lastLatencyUs,
      lastCounters,
      lastSec: 1,
    }
  })
}

const CALM = { latencyMs: 5, deliveries: 1000, connects: 0 }
const SLOW = { latencyMs: 400, deliveries: 1000 }

/** The first failure the judge reports, and at which report (1-based). */
function firstFailure(
  block: unknown,
  windows: readonly LiveWindow[],
  transport: TransportName = 'sse',
) {
  const judge = createLiveJudge(rules(block), transport)
  if (judge === null) return null
  for (const [index, live] of windows.entries()) {
    const failure = judge.observe(live)
    if (failure !== null) return { report: index + 1, ...failure }
  }
  return null
}

describe('abortOnFail while the run goes', () => {
  test('no judge without an abortOnFail threshold for this transport', () => {
    expect(createLiveJudge(rules({ latency: ['p(99) < 1ms'] }), 'sse')).toBeNull()
    expect(
      createLiveJudge(
        rules({ 'latency{transport:ws}': [{ threshold: 'p(99) < 1ms', abortOnFail: true }] }),
        'sse',
      ),
    ).toBeNull()
  })

  test('a failure over everything so far stops at the report that shows it, once', () => {
    const block = { latency: [{ threshold: 'p(99) < 100ms', abortOnFail: true }] }
    const windows = reports([CALM, CALM, CALM, SLOW, SLOW, CALM])
    const failure = firstFailure(block, windows)
    // After four seconds, 1,000 of 4,000 deliveries took 400 ms: the p99 is 400 ms.
    expect(failure).toMatchObject({ report: 4, atSec: 4, threshold: 'latency p(99) < 100ms' })
    expect(failure!.actual).toBeCloseTo(400, -1)
    const judge = createLiveJudge(rules(block), 'sse')!
    const seen = windows.map((live) => judge.observe(live))
    expect(seen.filter((failure) => failure !== null)).toHaveLength(1)
  })

  test('delayAbortEval holds the judgement off for that much of the measurement', () => {
    const over1s = { threshold: 'p(99) < 100ms', over: '1s', abortOnFail: true }
    const slowStart = reports([SLOW, SLOW, CALM, CALM])
    expect(firstFailure({ latency: [over1s] }, slowStart)).toMatchObject({ report: 1, atSec: 1 })
    // Slow at first, as a start can be: not judged before 3 s, by when it is over.
    const delayed = { latency: [{ ...over1s, delayAbortEval: '3s' }] }
    expect(firstFailure(delayed, slowStart)).toBeNull()
    expect(firstFailure(delayed, reports([SLOW, SLOW, SLOW, CALM]))).toMatchObject({ report: 3 })
  })

  test('the ramp and the warm-up are never judged', () => {
    const block = { latency: [{ threshold: 'p(99) < 100ms', abortOnFail: true }] }
    expect(firstFailure(block, reports([SLOW, SLOW], { measuring: false }))).toBeNull()
  })

  test('over: the last window of that length, judged once it is whole', () => {
    const block = { deliveries: [{ threshold: 'rate > 800', over: '3s', abortOnFail: true }] }
    const quiet = { latencyMs: 5, deliveries: 0 }
    // Two quiet seconds after six busy ones: the window 5..7 s has 2,000 in 3 s and fails at the
    // 7th report, while everything so far (6,000 in 7 s, 857/s) would still hold.
    const run = reports([CALM, CALM, CALM, CALM, CALM, CALM, quiet, quiet])
    const failure = firstFailure(block, run)
    expect(failure).toMatchObject({ report: 7, atSec: 7, threshold: 'deliveries rate > 800' })
    expect(failure!.actual).toBeCloseTo(2000 / 3, 6)
    // Without over, the rate of everything so far fails a report later (6,000 in 8 s).
    expect(
      firstFailure({ deliveries: [{ threshold: 'rate > 800', abortOnFail: true }] }, run),
    ).toMatchObject({ report: 8, actual: 750 })
    // Two quiet seconds at the start are not a whole window: nothing fails before the third.
    expect(
      firstFailure(block, reports([quiet, quiet, CALM, CALM, CALM, CALM, CALM, CALM])),
    ).toMatchObject({ report: 3 })
  })

  test('a bad second in a long run: only a window catches it', () => {
    const run = reports([...Array.from({ length: 30 }, () => CALM), { ...SLOW, errors: 50 }])
    expect(
      firstFailure({ errors: [{ threshold: 'count < 10', over: '5s', abortOnFail: true }] }, run),
    ).toMatchObject({ report: 31, actual: 50 })
    expect(
      firstFailure(
        { latency: [{ threshold: 'p(99) < 100ms', over: '5s', abortOnFail: true }] },
        run,
      ),
    ).toMatchObject({ report: 31 })
    // Over everything so far, 1,000 slow of 31,000 is about 3 %: p(99) notices, p(95) does not.
    expect(
      firstFailure({ latency: [{ threshold: 'p(95) < 100ms', abortOnFail: true }] }, run),
    ).toBeNull()
  })

  test('a new measurement window (a capacity step) starts the over window again', () => {
    const block = { deliveries: [{ threshold: 'count > 500', over: '2s', abortOnFail: true }] }
    const judge = createLiveJudge(rules(block), 'sse')!
    const first = reports([CALM, CALM], { startMs: 1 })
    const second = reports([{ latencyMs: 5, deliveries: 100 }, CALM], { startMs: 2 })
    expect([...first, ...second].map((live) => judge.observe(live))).toEqual([
      null,
      null,
      null,
      null,
    ])
  })

  test('a tagged threshold stops its own transport', () => {
    const block = {
      'errors{transport:ws}': [{ threshold: 'rate < 0.01', abortOnFail: true }],
    }
    const run = reports([{ ...CALM, errors: 5, connects: 100 }])
    expect(firstFailure(block, run, 'sse')).toBeNull()
    expect(firstFailure(block, run, 'ws')).toMatchObject({
      threshold: 'errors{transport:ws} rate < 0.01',
      report: 1,
    })
  })
})
