import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { capacityExecutor } from '../../../src/harness/executors/capacity.js'
import type { ExecutorContext } from '../../../src/harness/executors/executor.js'
import { type MeasureScope, measureWindow } from '../../../src/harness/measure.js'
import type { Stage } from '../../../src/harness/run-context.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import type { Session } from '../../../src/harness/session.js'
import type { Target } from '../../../src/harness/target.js'
import {
  createTransportMetrics,
  mergeWorkerReports,
  type TransportMetrics,
} from '../../../src/harness/transport-metrics.js'
import type { MergedInterval } from '../../../src/report/measurements.js'
import type { CapacityResult } from '../../../src/report/result-schema.js'
import {
  breakOnSchema,
  evaluateThresholds,
  intervalsWithin,
  type Thresholds,
} from '../../../src/report/thresholds.js'

/**
 * `capacity.breakOn` with `over:` judged on every window of a step's measured seconds, as a run's
 * thresholds are: the capacity executor driven through the real measurement (worker metrics with
 * real HDR histograms, merged, judged) by a simulated server on a stepped clock.
 */

const EVENTS_PER_SEC = 1000
const GOOD_MS = 5
const BAD_MS = 300
/** In a bad second this share of the events is late: under 1 % of a whole step, over it in 3 s. */
const BAD_SHARE = 0.02
const STEP_SEC = 20
/** The seconds of a step (from its start) that are bad, by its subscriber count. */
const BAD_SECONDS: Readonly<Record<number, readonly number[]>> = { 10: [], 20: [8, 9, 10], 30: [] }

/** Records one second of a step: its events' latencies as the profile says, then rolls it. */
function simulateSecond(metrics: TransportMetrics, bad: boolean, endMs: number): void {
  const late = bad ? Math.round(EVENTS_PER_SEC * BAD_SHARE) : 0
  for (let i = 0; i < EVENTS_PER_SEC; i++) {
    metrics.recordLatencyUs((i < late ? BAD_MS : GOOD_MS) * 1000)
  }
  metrics.rollInterval(endMs)
}

/**
 * A session whose pools are one worker's metrics: `hold` plays the step's seconds on the clock
 * (faked: Date only), bad where BAD_SECONDS says, and `reset` starts the metrics anew, as a pool's.
 */
function simulatedSession(): Session {
  let subscribers = 0
  let metrics = createTransportMetrics('sse', { nowMs: Date.now(), useWasm: false })
  return {
    totalSec: 0,
    rampTo: async (count) => {
      subscribers = count
    },
    arrive: () => {},
    leave: () => {},
    planChanges: () => {},
    warmUp: async (seconds) => {
      vi.setSystemTime(Date.now() + seconds * 1000)
    },
    hold: async (seconds) => {
      const bad = BAD_SECONDS[subscribers] ?? []
      for (let second = 0; second < seconds; second++) {
        vi.setSystemTime(Date.now() + 1000)
        simulateSecond(metrics, bad.includes(second), Date.now())
      }
    },
    reset: () => {
      metrics.destroy()
      metrics = createTransportMetrics('sse', { nowMs: Date.now(), useWasm: false })
    },
    reports: async () => [metrics.toWorkerReport()],
  }
}

function capacityScenario(breakOn: string) {
  return parseScenario(
    `name: capacity-windows
description: a step with a few bad seconds
transports: [sse]
subscribers: { count: 10 }
warmupSec: 1
executor: capacity
capacity: { start: 10, step: { add: 10 }, max: 30, stepDurationSec: ${STEP_SEC}, breakOn: { latency: [${breakOn}] } }
`,
    'capacity-windows.yaml',
  )
}

/** The capacity search run to its end through the real measurement of each step. */
async function search(breakOn: string): Promise<CapacityResult> {
  const scenario = capacityScenario(breakOn)
  const session = simulatedSession()
  const stage: Stage = { transport: 'sse', phase: 'ramp' }
  // Only what a measurement without faults, publisher or known heads reads of a target.
  const target = { heads: async () => null, publisher: null, server: null } as unknown as Target
  const scope: MeasureScope = {
    scenario,
    session,
    pools: [],
    target,
    serverWatch: null,
    aborted: () => false,
  }
  const context: ExecutorContext = {
    scenario,
    transport: 'sse',
    segment: undefined,
    session,
    lists: [],
    stage,
    aborted: () => false,
    pause: async () => undefined,
    thresholds: scenario.thresholds,
    measure: (window) => measureWindow(scope, window),
  }
  const run = await capacityExecutor.run(context)
  expect(run?.capacity).toBeDefined()
  return run!.capacity!
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.parse('2026-01-05T14:30:00.000Z'))
})

afterEach(() => {
  vi.useRealTimers()
})

describe('capacity.breakOn over windows', () => {
  test('a few bad seconds break a step with over: 3s; judged on the whole step they pass', async () => {
    const whole = await search('"p(99) < 100ms"')
    // Every step's p99 as a whole is the good latency: the bad seconds are under 1 % of a step.
    expect(whole.curve.map((step) => [step.subscribers, step.passed])).toEqual([
      [10, true],
      [20, true],
      [30, true],
    ])
    for (const step of whole.curve) expect(step.p99Us / 1000).toBeCloseTo(GOOD_MS, 1)
    expect(whole.maxPassingSubscribers).toBe(30)

    const windowed = await search('{ threshold: "p(99) < 100ms", over: 3s }')
    // The step of 20 breaks on a 3-s window of its bad seconds; the search ends there.
    expect(windowed.curve.map((step) => [step.subscribers, step.passed])).toEqual([
      [10, true],
      [20, false],
    ])
    expect(windowed.maxPassingSubscribers).toBe(10)
  })

  test('a window longer than the bad stretch dilutes it under the limit: the step holds', async () => {
    // 60 late events of 10 s × 1000 are 0.6 %: no 10-s window's p99 reaches them.
    const wide = await search('{ threshold: "p(99) < 100ms", over: 10s }')
    expect(wide.maxPassingSubscribers).toBe(30)
  })
})

/** A step's whole-measurement figures, all good: only its windows can break it. */
const GOOD_STEP = {
  latencyUs: { p99: GOOD_MS * 1000 },
  lossRatio: 0,
  errorRate: 0,
  deliveriesPerSec: EVENTS_PER_SEC,
}

describe("a step's slice of the intervals", () => {
  /** Two steps' merged intervals, one after the other, the second with bad seconds. */
  function twoSteps(): {
    intervals: readonly MergedInterval[]
    second: { startMs: number; endMs: number }
  } {
    const t0 = Date.now()
    const metrics = createTransportMetrics('sse', { nowMs: t0, useWasm: false })
    for (let s = 0; s < STEP_SEC; s++) simulateSecond(metrics, false, t0 + (s + 1) * 1000)
    const secondStartMs = t0 + STEP_SEC * 1000
    for (let s = 0; s < STEP_SEC; s++) {
      simulateSecond(metrics, BAD_SECONDS[20]!.includes(s), secondStartMs + (s + 1) * 1000)
    }
    // One more interval begun after the step ended: the wait for its last events, not judged.
    simulateSecond(metrics, true, secondStartMs + (STEP_SEC + 1) * 1000)
    const merged = mergeWorkerReports([metrics.toWorkerReport()])
    metrics.destroy()
    return {
      intervals: merged.intervals,
      second: { startMs: secondStartMs, endMs: secondStartMs + STEP_SEC * 1000 },
    }
  }

  function breakOn(block: unknown): Thresholds {
    return breakOnSchema.parse(block)
  }

  test('the worst window and where it began, counted from the step’s start', () => {
    const { intervals, second } = twoSteps()
    const slice = intervalsWithin(intervals, second)
    expect(slice.intervals).toHaveLength(STEP_SEC)
    expect(slice.startMs).toBe(second.startMs)
    const result = GOOD_STEP
    const [outcome] = evaluateThresholds(
      breakOn({ latency: [{ threshold: 'p(99) < 100ms', over: '3s' }] }),
      result,
      slice,
    )
    // Windows from 7, 8 and 9 s hold two or three bad seconds (≥ 1.3 % late): p99 is the late
    // latency; the earliest of equals is reported. From 6 or 10 s, one bad second (0.7 %) holds.
    expect(outcome).toMatchObject({
      name: 'latency',
      overSec: 3,
      worstWindowAtSec: 7,
      passed: false,
    })
    expect(outcome!.actual).toBeCloseTo(BAD_MS, -1)
    const [whole] = evaluateThresholds(breakOn({ latency: ['p(99) < 100ms'] }), result, slice)
    expect(whole).toMatchObject({ passed: true, actual: GOOD_MS })
  })

  test('the good step before it, judged on its own slice, holds', () => {
    const { intervals, second } = twoSteps()
    const first = { startMs: second.startMs - STEP_SEC * 1000, endMs: second.startMs }
    const slice = intervalsWithin(intervals, first)
    expect(slice.intervals).toHaveLength(STEP_SEC)
    const result = GOOD_STEP
    const [outcome] = evaluateThresholds(
      breakOn({ latency: [{ threshold: 'p(99) < 100ms', over: '3s' }] }),
      result,
      slice,
    )
    expect(outcome).toMatchObject({ passed: true })
    expect(outcome!.actual).toBeCloseTo(GOOD_MS, 1)
  })
})

describe('abortOnFail in capacity.breakOn', () => {
  test('is refused with its path: a broken step already ends the search', () => {
    const parsed = breakOnSchema.safeParse({
      latency: [
        { threshold: 'p(99) < 100ms', over: '5s', abortOnFail: true, delayAbortEval: '2s' },
      ],
      errors: [{ threshold: 'rate < 1%', abortOnFail: false }],
      loss: ['rate == 0'],
    })
    expect(parsed.success).toBe(false)
    expect(parsed.error!.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [
        'latency.0.abortOnFail',
        'does not apply in capacity.breakOn: a step that breaks it already ends the search; drop abortOnFail (to stop the whole run at a failure, put the threshold under thresholds:)',
      ],
      [
        'latency.0.delayAbortEval',
        'does not apply in capacity.breakOn (it goes with abortOnFail, which breakOn does not take); drop it',
      ],
      [
        'errors.0.abortOnFail',
        'does not apply in capacity.breakOn: a step that breaks it already ends the search; drop abortOnFail (to stop the whole run at a failure, put the threshold under thresholds:)',
      ],
    ])
  })

  test('the rest of a refused entry is still checked, and a block without them parses', () => {
    const parsed = breakOnSchema.safeParse({
      latency: [{ threshold: 'p(99) < 100 msec', abortOnFail: true }],
    })
    expect(parsed.error!.issues.map((issue) => issue.path.join('.'))).toEqual([
      'latency.0.abortOnFail',
      'latency.0.threshold',
    ])
    expect(
      breakOnSchema.parse({ latency: [{ threshold: 'p(99) < 100ms', over: '5s' }], p99Ms: 50 }),
    ).toEqual({ latency: [{ threshold: 'p(99) < 100ms', over: '5s' }], p99Ms: 50 })
  })
})
