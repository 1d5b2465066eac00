import { describe, expect, test } from 'vitest'
import { parseScenario } from '../../src/harness/scenario.js'
import {
  emptyCounters,
  emptyHistogram,
  encodeHistogram,
  type MergedInterval,
  type MetricCounters,
} from '../../src/report/measurements.js'
import { parseExpression, parseSeconds } from '../../src/report/threshold-expression.js'
import {
  actualText,
  describeOutcome,
  formatValue,
  NOT_MEASURED,
  thresholdLabel,
} from '../../src/report/threshold-text.js'
import {
  compileThresholds,
  evaluateThresholds,
  scaleThresholds,
  type ThresholdInput,
  type Thresholds,
  thresholdsSchema,
} from '../../src/report/thresholds.js'
import { percentilesOf } from '../../src/report/transport-result.js'

/**
 * Thresholds as k6 users write them: the grammar of one expression, what fits which metric, the
 * block's checks with their paths and hints, the old keys, and the judgement of a result, over
 * windows of its intervals too.
 */

/** The block parsed, or its problems as `path: message`. */
function parse(
  block: unknown,
): { ok: true; value: Thresholds } | { ok: false; problems: string[] } {
  const parsed = thresholdsSchema.safeParse(block)
  if (parsed.success) return { ok: true, value: parsed.data }
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
  }
}

function problemsOf(block: unknown): string[] {
  const parsed = parse(block)
  if (parsed.ok) throw new Error(`expected problems, got ${JSON.stringify(parsed.value)}`)
  return parsed.problems
}

function rulesOf(block: unknown) {
  const parsed = parse(block)
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'))
  return compileThresholds(parsed.value)
}

describe('one expression', () => {
  test.each([
    ['p(99) < 100ms', { kind: 'p', percentile: 99 }, '<', 100, 'ms'],
    ['p(99.9)<=5s', { kind: 'p', percentile: 99.9 }, '<=', 5, 's'],
    ['p( 50 ) > 250us', { kind: 'p', percentile: 50 }, '>', 250, 'us'],
    ['med >= 1µs', { kind: 'med' }, '>=', 1, 'µs'],
    ['avg == 0.5ms', { kind: 'avg' }, '==', 0.5, 'ms'],
    ['min != 3', { kind: 'min' }, '!=', 3, null],
    ['max < 1e3 ms', { kind: 'max' }, '<', 1000, 'ms'],
    ['count == 0', { kind: 'count' }, '==', 0, null],
    ['  rate < 1%  ', { kind: 'rate' }, '<', 1, '%'],
    ['rate > .5', { kind: 'rate' }, '>', 0.5, null],
  ])('%s', (text, aggregation, operator, value, unit) => {
    expect(parseExpression(text)).toEqual({
      ok: true,
      value: { aggregation, operator, value, unit },
    })
  })

  test.each([
    ['', 'is empty; write an aggregation, an operator and a limit, e.g. "p(99) < 100ms"'],
    [
      'p99 < 100ms',
      'has an unknown aggregation "p99" (k6 writes p(99)); write p(N), med, avg, min, max, count or rate',
    ],
    [
      'mean < 5ms',
      'has an unknown aggregation "mean"; write p(N), med, avg, min, max, count or rate',
    ],
    ['p(0) < 5ms', 'has "p(0)": a percentile must be in (0, 100], e.g. p(99)'],
    ['p(101) < 5ms', 'has "p(101)": a percentile must be in (0, 100], e.g. p(99)'],
    ['p(x) < 5ms', 'has "p(x)": a percentile must be a number, e.g. p(99) or p(99.9)'],
    ['p(99)', 'has no operator after "p(99)"; write <, <=, >, >=, == or != and a limit'],
    ['p(99) =< 5ms', 'has "=<", not an operator; write <, <=, >, >=, == or !='],
    ['rate = 0', 'has "=", not an operator; write <, <=, >, >=, == or !='],
    ['p(99) ~ 5ms', 'has "~" where an operator belongs; write <, <=, >, >=, == or !='],
    ['p(99) <', 'has no limit after "p(99) <"; write a number, e.g. "p(99) < 100ms"'],
    ['p(99) < fast', 'has "fast" where a number belongs, after "p(99) <"'],
    [
      'p(99) < 5 minutes',
      'has an unknown unit "minutes"; write ms, s or us for a time, % for a rate',
    ],
    ['p(99) < 5ms or so', 'has "or so" after the limit 5ms; end the expression there'],
  ])('%j is refused: %s', (text, message) => {
    expect(parseExpression(text)).toEqual({ ok: false, message })
  })

  test('durations of over and delayAbortEval', () => {
    expect(parseSeconds('10s')).toBe(10)
    expect(parseSeconds('500ms')).toBe(0.5)
    expect(parseSeconds('2m')).toBe(120)
    expect(parseSeconds('1m30s')).toBe(90)
    expect(parseSeconds(15)).toBe(15)
    expect(parseSeconds('15')).toBe(15)
    expect(parseSeconds('soon')).toBeUndefined()
    expect(parseSeconds('')).toBeUndefined()
    expect(parseSeconds(true)).toBeUndefined()
  })
})

describe('a threshold block', () => {
  test('each metric keeps its list; a lone expression becomes one; old keys stay numbers', () => {
    expect(
      parse({
        latency: ['p(50) < 20ms', 'p(99) < 100ms'],
        loss: 'rate == 0',
        'latency{transport:ws}': [{ threshold: 'p(99) < 50ms', over: '10s' }],
        p99Ms: 50,
      }),
    ).toEqual({
      ok: true,
      value: {
        latency: ['p(50) < 20ms', 'p(99) < 100ms'],
        loss: ['rate == 0'],
        'latency{transport:ws}': [{ threshold: 'p(99) < 50ms', over: '10s' }],
        p99Ms: 50,
      },
    })
  })

  test('what a parsed block holds parses again to the same (a result’s scenario.parsed)', () => {
    const first = parse({
      errors: [{ threshold: 'rate < 1%', abortOnFail: true }],
      loss: 'count == 0',
    })
    expect(first.ok).toBe(true)
    if (first.ok) expect(parse(JSON.parse(JSON.stringify(first.value)))).toEqual(first)
  })

  test('compiled: metric, transport, aggregation, operator, limit in the outcome unit, options', () => {
    const rules = rulesOf({
      latency: ['p(99) < 0.1s'],
      'connect{transport:sse}': [
        { threshold: 'p(95) < 500ms', abortOnFail: true, delayAbortEval: '5s' },
      ],
      recovery: ['max < 5s'],
      loss: ['rate == 0'],
      errors: [{ threshold: 'rate < 1%', over: '10s' }],
      deliveries: ['rate > 50000', 'count >= 1'],
    })
    expect(rules).toEqual([
      {
        name: 'latency',
        metric: 'latency',
        transport: null,
        expression: 'p(99) < 0.1s',
        aggregation: { kind: 'p', percentile: 99 },
        operator: '<',
        limit: 100,
        unit: 'ms',
        overSec: null,
        abortOnFail: false,
        delayAbortEvalSec: 0,
      },
      {
        name: 'connect{transport:sse}',
        metric: 'connect',
        transport: 'sse',
        expression: 'p(95) < 500ms',
        aggregation: { kind: 'p', percentile: 95 },
        operator: '<',
        limit: 500,
        unit: 'ms',
        overSec: null,
        abortOnFail: true,
        delayAbortEvalSec: 5,
      },
      expect.objectContaining({ name: 'recovery', limit: 5000, unit: 'ms', operator: '<' }),
      expect.objectContaining({ name: 'loss', limit: 0, unit: 'ratio', operator: '==' }),
      expect.objectContaining({ name: 'errors', limit: 0.01, unit: 'ratio', overSec: 10 }),
      expect.objectContaining({ name: 'deliveries', limit: 50000, unit: 'perSec', operator: '>' }),
      expect.objectContaining({ name: 'deliveries', limit: 1, unit: 'count', operator: '>=' }),
    ])
  })

  test('microseconds and seconds become ms; a bare time is ms', () => {
    const limits = rulesOf({
      latency: ['p(99) < 250us', 'p(99) < 2s', 'max < 7', 'min > 1µs'],
    }).map((rule) => rule.limit)
    expect(limits).toEqual([0.25, 2000, 7, 0.001])
  })

  test('the old keys are the inclusive expressions they always meant', () => {
    expect(
      rulesOf({ p99Ms: 50, maxLossRatio: 0, maxErrorRate: 0.01, minDeliveriesPerSec: 1000 }).map(
        (rule) => [rule.name, rule.expression, rule.limit],
      ),
    ).toEqual([
      ['latency', 'p(99) <= 50ms', 50],
      ['loss', 'rate <= 0', 0],
      ['errors', 'rate <= 0.01', 0.01],
      ['deliveries', 'rate >= 1000', 1000],
    ])
  })

  test.each([
    [
      { latency: ['rate < 1%'] },
      'latency.0: has "rate", which latency (a time) does not have; write p(N), med, avg, min or max',
    ],
    [
      { connect: ['count > 1'] },
      'connect.0: has "count", which connect (a time) does not have; write p(N), med, avg, min or max',
    ],
    [
      { latency: ['p(99) < 5%'] },
      'latency.0: has a % limit, but latency is a time; write ms, s or us',
    ],
    [
      { loss: ['p(99) < 1'] },
      'loss.0: has "p(99)", which loss does not have; write rate or count (rate: lost / expected; count: events lost)',
    ],
    [
      { errors: ['rate < 5ms'] },
      'errors.0: has a time unit "ms", but errors rate is not a time; write a bare number or a %',
    ],
    [{ loss: ['count < 1%'] }, 'loss.0: has a % limit on a count; write a bare number of loss'],
    [
      { errors: ['rate < 2'] },
      'errors.0: has the errors rate 2, outside 0..1; write a share like 0.01 or 1%',
    ],
    [
      { deliveries: ['rate > 5%'] },
      'deliveries.0: has a % limit, but deliveries rate is per second; write a bare number',
    ],
  ])('an aggregation or unit the metric does not have: %j', (block, problem) => {
    expect(problemsOf(block)).toEqual([problem])
  })

  test('every problem at once, each with its path and what to write instead', () => {
    expect(
      problemsOf({
        latency: ['p(99) < 100ms', 'p99 < 100ms'],
        'latency{transport:smoke}': ['p(99) < 1ms'],
        'latency{region:eu}': ['p(99) < 1ms'],
        http_req_duration: ['p(95) < 200'],
        errors: 0.01,
        loss: [{ threshold: 'rate == 0', overr: '10s' }],
        deliveries: [{ threshold: 'rate > 1', over: 'a while' }],
        connect: [{ threshold: 'p(99) < 1s', over: '10s' }],
        staleness: [{ threshold: 'p(99) < 1s', abortOnFail: true }],
        recovery: [{ threshold: 'max < 5s', delayAbortEval: '5s' }, { threshold: 42 }, 7],
        p99Ms: 'fast',
        minDeliveriesPerSec: -1,
      }),
    ).toEqual([
      'latency.1: has an unknown aggregation "p99" (k6 writes p(99)); write p(N), med, avg, min, max, count or rate',
      'latency{transport:smoke}: has the tag {transport:smoke}; the only tag is {transport:NAME}, NAME one of sse, longpoll, ws, eventsource, http',
      'latency{region:eu}: has the tag {region:eu}; the only tag is {transport:NAME}, NAME one of sse, longpoll, ws, eventsource, http',
      expect.stringMatching(
        /^http_req_duration: is not a metric a threshold can judge \(a k6 metric; tickstorm measures its own\); write one of latency, connect, recovery, /,
      ),
      'errors: must be a list of thresholds, e.g. errors: ["rate < 0.01"]',
      'loss.0.overr: is not a key of a threshold; its keys are threshold, over, abortOnFail, delayAbortEval',
      'deliveries.0.over: must be a duration of at least 1 s, like 10s or 1m',
      'connect.0.over: cannot judge connect per window (it is not kept per interval); drop over, or judge one of latency, loss, errors, deliveries, reconnects',
      'staleness.0.abortOnFail: cannot stop a run on staleness: it is only known at the end; abortOnFail fits latency, connect, recovery, loss, errors, deliveries, reconnects',
      'recovery.0.delayAbortEval: only goes with abortOnFail: true',
      'recovery.1.threshold: must be the expression, e.g. threshold: "p(99) < 100ms"',
      'recovery.2: must be an expression like "p(99) < 100ms", or { threshold: "p(99) < 100ms", over: 10s, abortOnFail: true }',
      'p99Ms: must be a number > 0 and ≤ 60000; or write it as a threshold: latency: ["p(99) <= Nms"]',
      'minDeliveriesPerSec: must be a number ≥ 0; or write it as a threshold: deliveries: ["rate >= N"]',
    ])
  })

  test('in a scenario, the problem names its path and the value', () => {
    const yaml = `name: t
transports: [sse]
subscribers: { count: 1 }
thresholds:
  latency: ["p(99) < 100ms", "p(99) < 100 msec"]
capacity: null
`
    expect(() => parseScenario(yaml.replace('capacity: null\n', ''), 't.yaml')).toThrow(
      '`thresholds.latency[1]` has an unknown unit "msec"; write ms, s or us for a time, % for a rate, got "p(99) < 100 msec"',
    )
    const breakOn = `name: c
transports: [sse]
subscribers: { count: 10 }
executor: capacity
capacity: { start: 10, step: { add: 10 }, max: 20, stepDurationSec: 5, breakOn: { loss: ["rate < 101%"] } }
`
    expect(() => parseScenario(breakOn, 'c.yaml')).toThrow(
      '`capacity.breakOn.loss[0]` has the loss rate 101%, outside 0..1; write a share like 0.01 or 1%, got "rate < 101%"',
    )
  })
})

describe('a segment’s share', () => {
  test('deliveries limits scale to the share; times and ratios do not', () => {
    expect(
      scaleThresholds(
        {
          minDeliveriesPerSec: 1000,
          deliveries: ['rate > 50000', { threshold: 'count >= 10', abortOnFail: true }],
          'deliveries{transport:ws}': ['rate >= 300'],
          latency: ['p(99) < 100ms'],
          loss: ['rate == 0'],
        },
        1 / 4,
      ),
    ).toEqual({
      minDeliveriesPerSec: 250,
      deliveries: ['rate > 12500', { threshold: 'count >= 2.5', abortOnFail: true }],
      'deliveries{transport:ws}': ['rate >= 75'],
      latency: ['p(99) < 100ms'],
      loss: ['rate == 0'],
    })
  })
})

/** Latency samples of `ms` milliseconds, `n` of each. */
function histogramOf(samples: readonly (readonly [ms: number, n: number])[]) {
  const histogram = emptyHistogram()
  for (const [ms, n] of samples) histogram.recordValueWithCount(ms * 1000, n)
  return histogram
}

const latency = histogramOf([
  [2, 900],
  [20, 90],
  [80, 10],
])
const connect = histogramOf([
  [1, 90],
  [300, 10],
])
const recovery = histogramOf([[1500, 4]])

const RESULT: ThresholdInput = {
  transport: 'ws',
  measuredSec: 10,
  latencyUs: percentilesOf(latency),
  connectTimeUs: percentilesOf(connect),
  recoveryUs: percentilesOf(recovery),
  lossRatio: 0.002,
  lost: 2,
  errorRate: 0.05,
  errors: 1,
  deliveriesPerSec: 60_000,
  deliveries: 600_000,
  reconnects: 4,
  histograms: {
    latencyUs: encodeHistogram(latency),
    connectTimeUs: encodeHistogram(connect),
    recoveryUs: encodeHistogram(recovery),
  },
}

function judge(block: unknown, result: ThresholdInput = RESULT) {
  const parsed = parse(block)
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'))
  return evaluateThresholds(parsed.value, result)
}

describe('judged against a result', () => {
  test('each aggregation of a time reads its figure in ms', () => {
    const actual = judge({
      latency: [
        'p(50) < 1s',
        'p(95) < 1s',
        'p(99) < 1s',
        'med < 1s',
        'avg < 1s',
        'min < 1s',
        'max < 1s',
      ],
    }).map((outcome) => outcome.actual)
    const [p50, p95, p99, med, avg, min, max] = actual
    expect(p50).toBeCloseTo(2, 1)
    // p(95) is not among the result's percentiles: read from its full histogram.
    expect(p95).toBeCloseTo(20, 0)
    expect(p99).toBeCloseTo(20, 0)
    expect(med).toBe(p50)
    expect(avg).toBeCloseTo((2 * 900 + 20 * 90 + 80 * 10) / 1000, 1)
    expect(min).toBeCloseTo(2, 1)
    expect(max).toBeCloseTo(80, 0)
  })

  test('limits as written: strict and inclusive operators, == and !=', () => {
    const passed = judge({
      deliveries: [
        'rate > 60000',
        'rate >= 60000',
        'rate < 60000',
        'rate <= 60000',
        'rate == 60000',
        'rate != 60000',
      ],
    }).map((outcome) => outcome.passed)
    expect(passed).toEqual([false, true, false, true, true, false])
  })

  test('every metric: connect, recovery, loss, errors, deliveries, reconnects; rate and count', () => {
    const outcomes = judge({
      connect: ['p(95) < 500ms'],
      recovery: ['max < 1s'],
      loss: ['rate == 0', 'count <= 2'],
      errors: ['rate < 10%'],
      deliveries: ['rate > 50000', 'count > 600000'],
      reconnects: ['count <= 4', 'rate < 0.5'],
    })
    expect(outcomes.map((o) => [o.name, o.expression, o.unit, o.passed])).toEqual([
      ['connect', 'p(95) < 500ms', 'ms', true],
      ['recovery', 'max < 1s', 'ms', false],
      ['loss', 'rate == 0', 'ratio', false],
      ['loss', 'count <= 2', 'count', true],
      ['errors', 'rate < 10%', 'ratio', true],
      ['deliveries', 'rate > 50000', 'perSec', true],
      ['deliveries', 'count > 600000', 'count', false],
      ['reconnects', 'count <= 4', 'count', true],
      ['reconnects', 'rate < 0.5', 'perSec', true],
    ])
    expect(outcomes[0]!.actual).toBeCloseTo(300, -1)
    expect(outcomes[1]!.actual).toBeCloseTo(1500, -1)
    expect(outcomes[2]!.actual).toBe(0.002)
    expect(outcomes[8]!.actual).toBe(0.4)
  })

  test('a time with no samples is no evidence: not measured, and the threshold fails', () => {
    const none = histogramOf([])
    const [outcome] = judge(
      { recovery: ['max < 5s'] },
      {
        ...RESULT,
        recoveryUs: percentilesOf(none),
        histograms: { ...RESULT.histograms!, recoveryUs: encodeHistogram(none) },
      },
    )
    expect(outcome).toMatchObject({ name: 'recovery', actual: NOT_MEASURED, passed: false })
  })

  test('a tagged threshold judges its transport only', () => {
    const block = {
      'latency{transport:ws}': ['p(99) < 10ms'],
      'latency{transport:sse}': ['p(99) < 1ms'],
    }
    expect(judge(block).map((o) => [o.name, o.passed])).toEqual([['latency{transport:ws}', false]])
    expect(judge(block, { ...RESULT, transport: 'sse' }).map((o) => o.name)).toEqual([
      'latency{transport:sse}',
    ])
  })

  test('a figure the result does not hold fails, as not measured', () => {
    const { histograms: _none, ...summaryOnly } = RESULT
    const outcomes = judge({ latency: ['p(95) < 1s'], reconnected: ['p(99) < 1s'] }, summaryOnly)
    expect(outcomes.map((o) => [o.actual, o.passed])).toEqual([
      [NOT_MEASURED, false],
      [NOT_MEASURED, false],
    ])
    expect(actualText(outcomes[1]!)).toBe('not measured')
  })
})

/** Ten 1-s intervals from t = 0: deliveries, errors and latency per second as given. */
function intervals(
  per: (second: number) => {
    deliveries: number
    latencyMs: number
    errors?: number
    connects?: number
  },
): MergedInterval[] {
  return Array.from({ length: 10 }, (_, second) => {
    const { deliveries, latencyMs, errors = 0, connects = 0 } = per(second)
    const counters: MetricCounters = { ...emptyCounters(), deliveries, errors, connects }
    return {
      startMs: 1_000_000 + second * 1000,
      endMs: 1_000_000 + (second + 1) * 1000,
      latency: histogramOf([[latencyMs, deliveries]]),
      counters,
      connections: 100,
      workers: 1,
    }
  })
}

describe('over windows', () => {
  const source = {
    // A bad stretch at 6..7 s: 200 ms latency, half the deliveries, a burst of errors.
    intervals: intervals((s) =>
      s === 6 || s === 7
        ? { deliveries: 500, latencyMs: 200, errors: 5, connects: 5 }
        : { deliveries: 1000, latencyMs: 5, connects: 5 },
    ),
    startMs: 1_000_000,
  }
  const over = (block: unknown) => {
    const parsed = parse(block)
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'))
    return evaluateThresholds(parsed.value, RESULT, source)
  }

  test('every window must hold; the worst one and when it began are reported', () => {
    const [p99] = over({ latency: [{ threshold: 'p(99) < 100ms', over: '2s' }] })
    // 5..7 s, 6..8 s and 7..9 s all hold a bad second (p99 200 ms): the earliest is reported.
    expect(p99).toMatchObject({ name: 'latency', overSec: 2, worstWindowAtSec: 5, passed: false })
    expect(p99!.actual).toBeCloseTo(200, -1)
    // The whole measurement's p99 (20 ms) holds; a 2-s window does not.
    expect(judge({ latency: ['p(99) < 100ms'] })[0]!.passed).toBe(true)
  })

  test('windows slide by an interval: a bad stretch across a boundary is found', () => {
    // 3-s windows that start on every second: 5..7 and 6..8 both hold the two bad seconds.
    const [rate] = over({ deliveries: [{ threshold: 'rate >= 900', over: '3s' }] })
    expect(rate).toMatchObject({ passed: false, worstWindowAtSec: 5 })
    expect(rate!.actual).toBeCloseTo((1000 + 500 + 500) / 3, 6)
  })

  test('a rate over windows: errors / sessions in each', () => {
    const [errors] = over({ errors: [{ threshold: 'rate < 10%', over: '1s' }] })
    expect(errors).toMatchObject({ passed: false, worstWindowAtSec: 6, actual: 0.5 })
    const [wide] = over({ errors: [{ threshold: 'rate <= 50%', over: '10s' }] })
    expect(wide).toMatchObject({ passed: true, worstWindowAtSec: 0, actual: 10 / 60 })
  })

  test('when every window holds, the one nearest its limit is reported', () => {
    const [ok] = over({ latency: [{ threshold: 'p(99) < 1s', over: '1s' }] })
    expect(ok).toMatchObject({ passed: true, worstWindowAtSec: 6 })
  })

  test('a window longer than the measurement is the whole of it', () => {
    const [long] = over({ deliveries: [{ threshold: 'count >= 9000', over: '1m' }] })
    expect(long).toMatchObject({ passed: true, actual: 9000, worstWindowAtSec: 0 })
  })
})

describe('as people read an outcome', () => {
  test('the expression and the figure in its unit, the worst window, an old key', () => {
    const base = { limit: 100, passed: false }
    expect(
      describeOutcome({
        ...base,
        name: 'latency',
        expression: 'p(99) < 100ms',
        unit: 'ms',
        actual: 132.44,
      }),
    ).toBe('latency p(99) < 100ms: 132.4 ms')
    expect(
      describeOutcome({
        ...base,
        name: 'errors{transport:ws}',
        expression: 'rate < 1%',
        unit: 'ratio',
        actual: 0.0234,
        overSec: 10,
        worstWindowAtSec: 23,
      }),
    ).toBe('errors{transport:ws} rate < 1% over 10 s: 2.34 % (worst 10 s window, from 23 s)')
    expect(describeOutcome({ name: 'p99Ms', limit: 100, actual: 412, passed: false })).toBe(
      'p99 412.0 ms > 100 ms',
    )
    expect(thresholdLabel({ name: 'minDeliveriesPerSec', limit: 5, actual: 9, passed: true })).toBe(
      'minDeliveriesPerSec ≥ 5',
    )
    expect(formatValue(51_203.4, 'perSec')).toBe('51,203/s')
    expect(formatValue(0.00004, 'ratio')).toBe('0.004 %')
    expect(formatValue(12, 'count')).toBe('12')
  })
})
