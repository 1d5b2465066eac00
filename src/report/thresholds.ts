/**
 * How a run, or a step of a capacity search, is judged: the thresholds a scenario sets, as k6
 * users write them, and their outcomes against a transport's result.
 *
 *   thresholds:
 *     latency: ["p(50) < 20ms", "p(99) < 100ms"]
 *     "latency{transport:ws}": ["p(99) < 50ms"]          # this transport only
 *     loss: ["rate == 0"]
 *     errors:
 *       - { threshold: "rate < 0.01", over: 10s, abortOnFail: true, delayAbortEval: 5s }
 *
 * The schema keeps the file's form (normalised: every metric's thresholds a list), so a result's
 * `scenario.parsed` reads back through it; `compileThresholds` turns it into rules. The keys of
 * tickstorm before 6 (`p99Ms`, `maxLossRatio`, `maxErrorRate`, `minDeliveriesPerSec`) still work:
 * each is the expression it always meant, with its inclusive limit (`p(99) <= 50ms`).
 */

import type { Histogram } from 'hdr-histogram-js'
import { z } from 'zod'
import {
  decodeHistogram,
  emptyHistogram,
  type MergedInterval,
  TRANSPORT_NAMES,
  type TransportName,
} from './measurements.js'
import { holds, parseExpression, parseSeconds } from './threshold-expression.js'
import {
  fitToMetric,
  isMetricName,
  METRIC_NAMES,
  METRICS,
  type MetricName,
} from './threshold-metrics.js'
import {
  type PercentilesUs,
  type Reading,
  readTime,
  readWindow,
  type ThresholdRule,
} from './threshold-rule.js'
import { NOT_MEASURED, type OutcomeText } from './threshold-text.js'

// The harness judges a run as it goes through this (it imports thresholds.ts, not its parts).
export { createLiveJudge } from './threshold-live.js'
export type { ThresholdRule } from './threshold-rule.js'

/** One threshold of a metric: the expression, or k6's object form with its options. */
export type ThresholdEntry =
  | string
  | {
      readonly threshold: string
      /** Every window this long must hold (a duration: `10s`, `1m`, or seconds). */
      readonly over?: string | number | undefined
      /** Stop the run when this threshold fails while it goes. */
      readonly abortOnFail?: boolean | undefined
      /** Not before this much of the measurement has passed (a duration), as k6. */
      readonly delayAbortEval?: string | number | undefined
    }

const ENTRY_KEYS = ['threshold', 'over', 'abortOnFail', 'delayAbortEval'] as const

const LEGACY = {
  p99Ms: {
    metric: 'latency',
    expression: (v: string | number) => `p(99) <= ${v}ms`,
    min: 'positive',
    max: 60_000,
  },
  maxLossRatio: {
    metric: 'loss',
    expression: (v: string | number) => `rate <= ${v}`,
    min: 'zero',
    max: 1,
  },
  maxErrorRate: {
    metric: 'errors',
    expression: (v: string | number) => `rate <= ${v}`,
    min: 'zero',
    max: 1,
  },
  minDeliveriesPerSec: {
    metric: 'deliveries',
    expression: (v: string | number) => `rate >= ${v}`,
    min: 'zero',
    max: Number.POSITIVE_INFINITY,
  },
} as const
type LegacyKey = keyof typeof LEGACY
const isLegacyKey = (key: string): key is LegacyKey => Object.hasOwn(LEGACY, key)

/** What a threshold block holds once parsed: old keys' numbers, each metric's list. */
export type Thresholds = { readonly [key: string]: number | readonly ThresholdEntry[] }

/**
 * A threshold block's schema: every problem of `problemsOf` reported at once with its path and
 * what to write instead, the block kept as written (a lone expression made a list).
 */
function thresholdBlockSchema(problemsOf: (block: Record<string, unknown>) => Problem[]) {
  return z
    .record(z.string(), z.unknown())
    .superRefine((block, context) => {
      for (const problem of problemsOf(block)) {
        context.addIssue({
          code: 'custom',
          path: problem.path,
          message: problem.message,
          input: problem.input,
        })
      }
    })
    .transform(
      (block): Thresholds =>
        Object.fromEntries(
          Object.entries(block).map(([key, value]) => [
            key,
            typeof value === 'number'
              ? value
              : ((Array.isArray(value) ? value : [value]) as ThresholdEntry[]),
          ]),
        ),
    )
}

/** A scenario's `thresholds`. */
export const thresholdsSchema = thresholdBlockSchema(thresholdProblems)

/**
 * `capacity.breakOn`: the thresholds a step must hold, with `over:` judged on every window of the
 * step's measured seconds. `abortOnFail` and `delayAbortEval` are refused here: a step that breaks
 * a breakOn threshold already ends the search, and a step is judged on all its seconds so that
 * its record on the curve is comparable with its neighbours'; a run that must stop at the first
 * failure says so under `thresholds:`, whose `abortOnFail` judges each step as it goes.
 */
export const breakOnSchema = thresholdBlockSchema((block) => {
  const refused = breakOnRefusals(block)
  // What is refused is taken out before the rest is checked, so it is reported once.
  return [...refused.problems, ...thresholdProblems(refused.rest)]
})

const BREAK_ON_REFUSED = {
  abortOnFail:
    'does not apply in capacity.breakOn: a step that breaks it already ends the search; drop abortOnFail (to stop the whole run at a failure, put the threshold under thresholds:)',
  delayAbortEval:
    'does not apply in capacity.breakOn (it goes with abortOnFail, which breakOn does not take); drop it',
} as const

/** The breakOn entries' `abortOnFail` and `delayAbortEval` as problems, and the block without them. */
function breakOnRefusals(block: Record<string, unknown>): {
  readonly problems: Problem[]
  readonly rest: Record<string, unknown>
} {
  const problems: Problem[] = []
  const rest: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(block)) {
    // Only a list holds object entries; anything else is the general check's to report.
    if (!Array.isArray(value)) {
      rest[key] = value
      continue
    }
    rest[key] = value.map((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry
      const at: PropertyKey[] = [key, index]
      const copy: Record<string, unknown> = { ...entry }
      for (const option of Object.keys(BREAK_ON_REFUSED) as (keyof typeof BREAK_ON_REFUSED)[]) {
        if (!Object.hasOwn(copy, option)) continue
        problems.push({
          path: [...at, option],
          message: BREAK_ON_REFUSED[option],
          input: copy[option],
        })
        delete copy[option]
      }
      return copy
    })
  }
  return { problems, rest }
}

/** One threshold judged: what its text reads (threshold-text.ts), and whether it aborts a run. */
export interface ThresholdOutcome extends OutcomeText {
  readonly abortOnFail?: boolean | undefined
}

interface Problem {
  readonly path: PropertyKey[]
  readonly message: string
  readonly input: unknown
}

/** `latency{transport:ws}` → its metric, its tag, and the transport the tag names if any. */
function splitKey(key: string): { metric: string; transport: string | null; tag: string | null } {
  const tagged = /^([^{}\s]+)\s*\{([^{}]*)\}$/.exec(key.trim())
  if (tagged === null) return { metric: key.trim(), transport: null, tag: null }
  const [, metric, tag] = tagged
  const transport = /^transport\s*:\s*(\S+)$/.exec(tag!.trim())?.[1] ?? null
  return { metric: metric!, transport, tag: tag!.trim() }
}

/** A rule's name: the metric, with its transport tag as k6 writes a sub-metric. */
function ruleName(metric: MetricName, transport: TransportName | null): string {
  return transport === null ? metric : `${metric}{transport:${transport}}`
}

function example(metric: MetricName): string {
  const { kind } = METRICS[metric]
  return kind === 'time' ? 'p(99) < 100ms' : kind === 'ratio' ? 'rate < 0.01' : 'rate > 1000'
}

function thresholdProblems(block: Record<string, unknown>): Problem[] {
  const problems: Problem[] = []
  for (const [key, value] of Object.entries(block)) {
    if (isLegacyKey(key)) {
      const legacy = LEGACY[key]
      const low =
        legacy.min === 'positive'
          ? !(typeof value === 'number' && value > 0)
          : !(typeof value === 'number' && value >= 0)
      if (typeof value !== 'number' || low || value > legacy.max) {
        const range = `${legacy.min === 'positive' ? '> 0' : '≥ 0'}${Number.isFinite(legacy.max) ? ` and ≤ ${legacy.max}` : ''}`
        problems.push({
          path: [key],
          message: `must be a number ${range}; or write it as a threshold: ${legacy.metric}: ["${legacy.expression('N')}"]`,
          input: value,
        })
      }
      continue
    }
    const { metric, transport, tag } = splitKey(key)
    if (!isMetricName(metric)) {
      const hint = /^p\(?\d/.test(metric)
        ? ` (a percentile is an aggregation: latency: ["p(${metric.replace(/\D+/g, '')}) < 100ms"])`
        : /^(http_|ws_|iteration|vus|checks|data_)/.test(metric)
          ? ' (a k6 metric; tickstorm measures its own)'
          : ''
      problems.push({
        path: [key],
        message: `is not a metric a threshold can judge${hint}; write one of ${METRIC_NAMES.join(', ')}, optionally tagged as latency{transport:ws} (old keys: ${Object.keys(LEGACY).join(', ')})`,
        input: value,
      })
      continue
    }
    if (
      tag !== null &&
      (transport === null || !(TRANSPORT_NAMES as readonly string[]).includes(transport))
    ) {
      problems.push({
        path: [key],
        message: `has the tag {${tag}}; the only tag is {transport:NAME}, NAME one of ${TRANSPORT_NAMES.join(', ')}`,
        input: value,
      })
      continue
    }
    if (typeof value !== 'string' && !Array.isArray(value)) {
      problems.push({
        path: [key],
        message: `must be a list of thresholds, e.g. ${key}: ["${example(metric)}"]`,
        input: value,
      })
      continue
    }
    const entries: unknown[] = Array.isArray(value) ? value : [value]
    for (const [index, entry] of entries.entries()) {
      const at: PropertyKey[] = Array.isArray(value) ? [key, index] : [key]
      const compiled = compileEntry(metric, transport as TransportName | null, entry)
      if (!compiled.ok)
        problems.push({
          path: [...at, ...compiled.path],
          message: compiled.message,
          input: compiled.input,
        })
    }
  }
  return problems
}

type Compiled =
  | { readonly ok: true; readonly rule: ThresholdRule }
  | {
      readonly ok: false
      readonly path: PropertyKey[]
      readonly message: string
      readonly input: unknown
    }

/** One entry of a metric's list checked and compiled; a failure says where and what to write. */
function compileEntry(
  metric: MetricName,
  transport: TransportName | null,
  entry: unknown,
): Compiled {
  const fail = (path: PropertyKey[], message: string, input: unknown): Compiled => ({
    ok: false,
    path,
    message,
    input,
  })
  if (typeof entry !== 'string') {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return fail(
        [],
        `must be an expression like "${example(metric)}", or { threshold: "${example(metric)}", over: 10s, abortOnFail: true }`,
        entry,
      )
    }
    const unknown = Object.keys(entry).filter((k) => !(ENTRY_KEYS as readonly string[]).includes(k))
    if (unknown.length > 0) {
      return fail(
        [unknown[0]!],
        `is not a key of a threshold; its keys are ${ENTRY_KEYS.join(', ')}`,
        (entry as Record<string, unknown>)[unknown[0]!],
      )
    }
  }
  const object = typeof entry === 'string' ? null : (entry as Record<string, unknown>)
  const text = object === null ? entry : object['threshold']
  const at: PropertyKey[] = object === null ? [] : ['threshold']
  if (typeof text !== 'string') {
    return fail(at, `must be the expression, e.g. threshold: "${example(metric)}"`, text)
  }
  const parsed = parseExpression(text)
  if (!parsed.ok) return fail(at, parsed.message, text)
  const fitted = fitToMetric(metric, parsed.value)
  if (!fitted.ok) return fail(at, fitted.message, text)
  let overSec: number | null = null
  let delayAbortEvalSec = 0
  let abortOnFail = false
  if (object !== null) {
    const { over, delayAbortEval } = object
    if (over !== undefined) {
      const seconds = parseSeconds(over)
      if (seconds === undefined || seconds < 1) {
        return fail(['over'], 'must be a duration of at least 1 s, like 10s or 1m', over)
      }
      if (!METRICS[metric].perInterval) {
        const fits = METRIC_NAMES.filter((m) => METRICS[m].perInterval).join(', ')
        return fail(
          ['over'],
          `cannot judge ${metric} per window (it is not kept per interval); drop over, or judge one of ${fits}`,
          over,
        )
      }
      overSec = seconds
    }
    if (object['abortOnFail'] !== undefined && typeof object['abortOnFail'] !== 'boolean') {
      return fail(['abortOnFail'], 'must be true or false', object['abortOnFail'])
    }
    abortOnFail = object['abortOnFail'] === true
    if (abortOnFail && !METRICS[metric].live) {
      const fits = METRIC_NAMES.filter((m) => METRICS[m].live).join(', ')
      return fail(
        ['abortOnFail'],
        `cannot stop a run on ${metric}: it is only known at the end; abortOnFail fits ${fits}`,
        object['abortOnFail'],
      )
    }
    if (delayAbortEval !== undefined) {
      const seconds = parseSeconds(delayAbortEval)
      if (seconds === undefined || seconds < 0) {
        return fail(['delayAbortEval'], 'must be a duration, like 10s or 1m', delayAbortEval)
      }
      if (!abortOnFail)
        return fail(['delayAbortEval'], 'only goes with abortOnFail: true', delayAbortEval)
      delayAbortEvalSec = seconds
    }
  }
  return {
    ok: true,
    rule: {
      name: ruleName(metric, transport),
      metric,
      transport,
      expression: text.trim().replace(/\s+/g, ' '),
      aggregation: fitted.value.aggregation,
      operator: parsed.value.operator,
      limit: fitted.value.limit,
      unit: fitted.value.unit,
      overSec,
      abortOnFail,
      delayAbortEvalSec,
    },
  }
}

/** Every threshold of a (validated) block as a rule, old keys as the expressions they meant. */
export function compileThresholds(thresholds: Readonly<Thresholds>): ThresholdRule[] {
  const rules: ThresholdRule[] = []
  for (const [key, value] of Object.entries(thresholds)) {
    if (isLegacyKey(key)) {
      if (typeof value !== 'number') continue
      const legacy = LEGACY[key]
      const compiled = compileEntry(legacy.metric, null, legacy.expression(value))
      if (compiled.ok) rules.push(compiled.rule)
      continue
    }
    const { metric, transport } = splitKey(key)
    if (!isMetricName(metric) || typeof value === 'number') continue
    for (const entry of value) {
      const compiled = compileEntry(metric, transport as TransportName | null, entry)
      if (compiled.ok) rules.push(compiled.rule)
    }
  }
  return rules
}

/**
 * A segment host judges its share: a deliveries rate or count is a total over all subscribers,
 * so its limit scales to this host's share of them (`share` = its subscribers / all). The other
 * metrics are ratios and times, the same at any share.
 */
export function scaleThresholds(thresholds: Readonly<Thresholds>, share: number): Thresholds {
  const scaled: Record<string, number | readonly ThresholdEntry[]> = {}
  for (const [key, value] of Object.entries(thresholds)) {
    if (key === 'minDeliveriesPerSec' && typeof value === 'number') {
      scaled[key] = value * share
      continue
    }
    const { metric } = splitKey(key)
    scaled[key] =
      metric !== 'deliveries' || typeof value === 'number'
        ? value
        : value.map((entry) => scaleEntry(entry, share))
  }
  return scaled
}

function scaleEntry(entry: ThresholdEntry, share: number): ThresholdEntry {
  const text = typeof entry === 'string' ? entry : entry.threshold
  const parsed = parseExpression(text)
  if (!parsed.ok) return entry
  const { aggregation, operator, value } = parsed.value
  const scaledText = `${aggregation.kind} ${operator} ${Number((value * share).toPrecision(12))}`
  return typeof entry === 'string' ? scaledText : { ...entry, threshold: scaledText }
}

/**
 * The parts of a transport's result the thresholds read (a `TransportResult` is one; spelled out
 * here so the result schema, which evaluates thresholds, is not imported back).
 */
export interface ThresholdInput {
  readonly transport?: TransportName | undefined
  readonly measuredSec?: number | undefined
  readonly latencyUs: { readonly p99: number } & Partial<PercentilesUs>
  readonly connectTimeUs?: PercentilesUs | undefined
  readonly recoveryUs?: PercentilesUs | undefined
  readonly recoverySplit?:
    | {
        readonly reconnectedUs: PercentilesUs
        readonly caughtUpUs: PercentilesUs
        readonly firstNewUs: PercentilesUs
      }
    | undefined
  readonly spread?: { readonly spreadUs: PercentilesUs } | undefined
  readonly stalenessUs?: PercentilesUs | undefined
  readonly watchListChanges?: { readonly acknowledgedUs: PercentilesUs } | undefined
  readonly lossRatio: number
  readonly lost?: number | undefined
  readonly errorRate: number
  readonly errors?: number | undefined
  readonly deliveriesPerSec: number
  readonly deliveries?: number | undefined
  readonly reconnects?: number | undefined
  readonly histograms?:
    | {
        readonly latencyUs: string
        readonly connectTimeUs: string
        readonly recoveryUs: string
      }
    | undefined
  readonly extraHistograms?:
    | Partial<
        Record<
          | 'reconnectedUs'
          | 'caughtUpUs'
          | 'firstNewUs'
          | 'spreadUs'
          | 'stalenessUs'
          | 'changeAcknowledgedUs',
          string | undefined
        >
      >
    | undefined
}

/** The measurement's intervals, for thresholds judged `over:` windows. */
export interface IntervalSource {
  readonly intervals: readonly MergedInterval[]
  /** Wall ms when the measurement began (a window's `worstWindowAtSec` counts from it). */
  readonly startMs: number
}

/**
 * The intervals of a measurement from `startMs` to `endMs` (wall ms), for `over:` windows: those
 * that overlap it. One begun after its end, in the wait for its last events, is not part of it;
 * nor is one that ended before it began (the previous step of a capacity search).
 */
export function intervalsWithin(
  intervals: readonly MergedInterval[],
  span: { readonly startMs: number; readonly endMs: number },
): IntervalSource {
  return {
    intervals: intervals.filter(
      (interval) => interval.startMs < span.endMs && interval.endMs > span.startMs,
    ),
    startMs: span.startMs,
  }
}

const TIME_SOURCES = {
  latency: {
    summary: (r: ThresholdInput) => r.latencyUs,
    encoded: (r: ThresholdInput) => r.histograms?.latencyUs,
  },
  connect: {
    summary: (r: ThresholdInput) => r.connectTimeUs,
    encoded: (r: ThresholdInput) => r.histograms?.connectTimeUs,
  },
  recovery: {
    summary: (r: ThresholdInput) => r.recoveryUs,
    encoded: (r: ThresholdInput) => r.histograms?.recoveryUs,
  },
  reconnected: {
    summary: (r: ThresholdInput) => r.recoverySplit?.reconnectedUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.reconnectedUs,
  },
  caughtUp: {
    summary: (r: ThresholdInput) => r.recoverySplit?.caughtUpUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.caughtUpUs,
  },
  firstNew: {
    summary: (r: ThresholdInput) => r.recoverySplit?.firstNewUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.firstNewUs,
  },
  spread: {
    summary: (r: ThresholdInput) => r.spread?.spreadUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.spreadUs,
  },
  staleness: {
    summary: (r: ThresholdInput) => r.stalenessUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.stalenessUs,
  },
  changeAcknowledged: {
    summary: (r: ThresholdInput) => r.watchListChanges?.acknowledgedUs,
    encoded: (r: ThresholdInput) => r.extraHistograms?.changeAcknowledgedUs,
  },
} as const

/** A metric's figure over a whole result. */
function readResult(rule: ThresholdRule, result: ThresholdInput): Reading {
  const { metric, aggregation } = rule
  const kind = aggregation.kind
  switch (metric) {
    case 'loss':
      return kind === 'count' ? known(result.lost) : { value: result.lossRatio }
    case 'errors':
      return kind === 'count' ? known(result.errors) : { value: result.errorRate }
    case 'deliveries':
      return kind === 'count' ? known(result.deliveries) : { value: result.deliveriesPerSec }
    case 'reconnects':
      if (kind === 'count') return known(result.reconnects)
      if (result.reconnects === undefined || !result.measuredSec) return { missing: 'not measured' }
      return { value: result.reconnects / result.measuredSec }
    default: {
      const source = TIME_SOURCES[metric]
      let decoded: Histogram | undefined | null = null
      // No sample is no evidence: `recovery max < 5s` in a run nothing dropped in measured
      // nothing, and must not read as a pass of 0 ms.
      if (source.summary(result)?.count === 0) return { missing: 'no samples' }
      return readTime(
        {
          percentiles: source.summary(result),
          histogram: () => {
            if (decoded === null) {
              const encoded = source.encoded(result)
              decoded = encoded === undefined ? undefined : decodeHistogram(encoded)
            }
            return decoded
          },
        },
        aggregation,
      )
    }
  }
}

function known(value: number | undefined): Reading {
  return value === undefined ? { missing: 'not measured' } : { value }
}

/**
 * Every window of `overSec` (as many whole intervals, sliding by one interval: every span of that
 * length that starts on an interval is judged, so a bad stretch cannot hide across a boundary the
 * way tumbling windows would let it), its reading and where it began. A measurement shorter than
 * one window is one window.
 */
function windowReadings(
  rule: ThresholdRule,
  source: IntervalSource,
): { readonly value: number; readonly atSec: number }[] {
  const intervals = source.intervals
  if (intervals.length === 0) return []
  const spans = intervals.map((i) => Math.max(0, i.endMs - i.startMs) / 1000)
  const intervalSec = Math.max(0.001, median(spans))
  const size = Math.min(
    intervals.length,
    Math.max(1, Math.round((rule.overSec ?? intervalSec) / intervalSec)),
  )
  const readings: { value: number; atSec: number }[] = []
  for (let start = 0; start + size <= intervals.length; start++) {
    const members = intervals.slice(start, start + size)
    const counters = {
      deliveries: 0,
      errors: 0,
      connects: 0,
      gaps: 0,
      duplicates: 0,
      outOfOrder: 0,
      reconnects: 0,
    }
    let latency: Histogram | undefined
    for (const interval of members) {
      for (const key of Object.keys(counters) as (keyof typeof counters)[])
        counters[key] += interval.counters[key]
      if (rule.metric === 'latency') {
        latency ??= emptyHistogram()
        latency.add(interval.latency)
      }
    }
    const sec = sum(members.map((i) => Math.max(0, i.endMs - i.startMs) / 1000))
    const reading = readWindow(rule, { counters, sec, latency })
    if ('value' in reading) {
      readings.push({
        value: reading.value,
        atSec: Math.max(0, (members[0]!.startMs - source.startMs) / 1000),
      })
    }
  }
  return readings
}

/**
 * The window that decides: of the failing windows (or, when all hold, of all), the one furthest
 * on the wrong side of the limit (for `==`, furthest from it; for `!=`, nearest), the earliest
 * of equals.
 */
function worstOf(
  rule: ThresholdRule,
  readings: readonly { value: number; atSec: number }[],
): { value: number; atSec: number } {
  const failing = readings.filter((r) => !holds(r.value, rule.operator, rule.limit))
  const candidates = failing.length > 0 ? failing : readings
  const badness = (value: number): number => {
    switch (rule.operator) {
      case '<':
      case '<=':
        return value
      case '>':
      case '>=':
        return -value
      case '==':
        return Math.abs(value - rule.limit)
      case '!=':
        return -Math.abs(value - rule.limit)
    }
  }
  let worst = candidates[0]!
  for (const reading of candidates)
    if (badness(reading.value) > badness(worst.value)) worst = reading
  return worst
}

/**
 * Each threshold that applies to this transport, judged against its result; those with `over:`
 * on every window of its intervals when given (without them, as in a merge, on the whole
 * measurement). A figure the result does not hold fails the threshold, with `actual`
 * NOT_MEASURED: a threshold that cannot be judged must not pass.
 */
export function evaluateThresholds(
  thresholds: Readonly<Thresholds>,
  result: ThresholdInput,
  intervals?: IntervalSource,
): ThresholdOutcome[] {
  return evaluateRules(compileThresholds(thresholds), result, intervals)
}

function evaluateRules(
  rules: readonly ThresholdRule[],
  result: ThresholdInput,
  intervals?: IntervalSource,
): ThresholdOutcome[] {
  const outcomes: ThresholdOutcome[] = []
  for (const rule of rules) {
    if (
      rule.transport !== null &&
      result.transport !== undefined &&
      rule.transport !== result.transport
    )
      continue
    const base = {
      name: rule.name,
      expression: rule.expression,
      limit: rule.limit,
      unit: rule.unit,
      ...(rule.overSec === null ? {} : { overSec: rule.overSec }),
      ...(rule.abortOnFail ? { abortOnFail: true } : {}),
    }
    if (rule.overSec !== null && intervals !== undefined) {
      const readings = windowReadings(rule, intervals)
      if (readings.length > 0) {
        const worst = worstOf(rule, readings)
        outcomes.push({
          ...base,
          actual: worst.value,
          worstWindowAtSec: worst.atSec,
          passed: readings.every((r) => holds(r.value, rule.operator, rule.limit)),
        })
        continue
      }
    }
    const reading = readResult(rule, result)
    if ('missing' in reading) {
      outcomes.push({ ...base, actual: NOT_MEASURED, passed: false })
      continue
    }
    outcomes.push({
      ...base,
      actual: reading.value,
      passed: holds(reading.value, rule.operator, rule.limit),
    })
  }
  return outcomes
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 1
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
