/**
 * What a threshold may judge: each metric, the aggregations that make sense of it, the unit its
 * limits are in, and where its figure comes from in a transport's result. A threshold that asks
 * for something a metric does not have (`rate` of a latency, `p(99)` of a loss) is refused with
 * what does fit, never judged on a figure of another meaning.
 */

import type { Aggregation, ThresholdExpression, Unit } from './threshold-expression.js'
import { formatAggregation } from './threshold-expression.js'

/** How a metric is measured: its kind decides its aggregations and units. */
export type MetricKind = 'time' | 'ratio' | 'flow'

export const METRIC_NAMES = [
  'latency',
  'connect',
  'recovery',
  'reconnected',
  'caughtUp',
  'firstNew',
  'spread',
  'staleness',
  'changeAcknowledged',
  'loss',
  'errors',
  'deliveries',
  'reconnects',
] as const
export type MetricName = (typeof METRIC_NAMES)[number]

export interface MetricInfo {
  readonly kind: MetricKind
  /** What the metric is, for `--help`-like messages and the README. */
  readonly about: string
  /** Kept per ~1-s interval, so `over:` windows can judge it. */
  readonly perInterval: boolean
  /** Measured while the run goes, so `abortOnFail` can stop it. */
  readonly live: boolean
}

export const METRICS: Readonly<Record<MetricName, MetricInfo>> = {
  latency: {
    kind: 'time',
    about: 'receipt − scheduled time per event',
    perInterval: true,
    live: true,
  },
  connect: { kind: 'time', about: 'time to connect', perInterval: false, live: true },
  recovery: { kind: 'time', about: 'drop → first resumed event', perInterval: false, live: true },
  reconnected: { kind: 'time', about: 'drop → reconnected', perInterval: false, live: false },
  caughtUp: { kind: 'time', about: 'drop → caught up', perInterval: false, live: false },
  firstNew: { kind: 'time', about: 'drop → first new event', perInterval: false, live: false },
  spread: {
    kind: 'time',
    about: 'first → last receipt of an event',
    perInterval: false,
    live: false,
  },
  staleness: {
    kind: 'time',
    about: 'age of a conflated value when replaced',
    perInterval: false,
    live: false,
  },
  changeAcknowledged: {
    kind: 'time',
    about: 'watch-list change → the server acknowledged it',
    perInterval: false,
    live: false,
  },
  loss: {
    kind: 'ratio',
    about: 'rate: lost / expected; count: events lost',
    perInterval: true,
    live: true,
  },
  errors: {
    kind: 'ratio',
    about: 'rate: errors / (connects + errors); count: errors',
    perInterval: true,
    live: true,
  },
  deliveries: {
    kind: 'flow',
    about: 'rate: events delivered per second; count: delivered',
    perInterval: true,
    live: true,
  },
  reconnects: {
    kind: 'flow',
    about: 'count: reconnections; rate: per second',
    perInterval: true,
    live: true,
  },
}

/** The unit an outcome's limit and actual are in (the result schema's `unit`). */
export type OutcomeUnit = 'ms' | 'ratio' | 'perSec' | 'count'

/** A threshold's expression checked against its metric, its limit in the outcome's unit. */
export interface MetricExpression {
  readonly aggregation: Aggregation
  readonly unit: OutcomeUnit
  /** In `unit`: ms for times, 0..1 for ratios. */
  readonly limit: number
}

const TIME_AGGREGATIONS = 'p(N), med, avg, min or max'

/** Whether `metric` names one a threshold may judge. */
export function isMetricName(metric: string): metric is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(metric)
}

/**
 * Fits an expression to its metric: the aggregation must be one the metric has and the unit one
 * its kind takes; the limit comes out in the outcome's unit. A failure says what fits.
 */
export function fitToMetric(
  metric: MetricName,
  expression: ThresholdExpression,
):
  | { readonly ok: true; readonly value: MetricExpression }
  | { readonly ok: false; readonly message: string } {
  const { kind } = METRICS[metric]
  const { aggregation, unit, value } = expression
  const agg = formatAggregation(aggregation)
  const fail = (message: string) => ({ ok: false as const, message })
  if (kind === 'time') {
    if (aggregation.kind === 'count' || aggregation.kind === 'rate') {
      return fail(
        `has "${agg}", which ${metric} (a time) does not have; write ${TIME_AGGREGATIONS}`,
      )
    }
    if (unit === '%') return fail(`has a % limit, but ${metric} is a time; write ms, s or us`)
    return { ok: true, value: { aggregation, unit: 'ms', limit: toMs(value, unit) } }
  }
  if (aggregation.kind !== 'count' && aggregation.kind !== 'rate') {
    return fail(
      `has "${agg}", which ${metric} does not have; write rate or count (${METRICS[metric].about})`,
    )
  }
  if (unit !== null && unit !== '%') {
    return fail(
      `has a time unit "${unit}", but ${metric} ${aggregation.kind} is not a time; write a bare number${kind === 'ratio' && aggregation.kind === 'rate' ? ' or a %' : ''}`,
    )
  }
  if (aggregation.kind === 'count') {
    if (unit === '%') return fail(`has a % limit on a count; write a bare number of ${metric}`)
    return { ok: true, value: { aggregation, unit: 'count', limit: value } }
  }
  if (kind === 'ratio') {
    const limit = unit === '%' ? value / 100 : value
    if (limit < 0 || limit > 1) {
      return fail(
        `has the ${metric} rate ${value}${unit ?? ''}, outside 0..1; write a share like 0.01 or 1%`,
      )
    }
    return { ok: true, value: { aggregation, unit: 'ratio', limit } }
  }
  if (unit === '%')
    return fail(`has a % limit, but ${metric} rate is per second; write a bare number`)
  return { ok: true, value: { aggregation, unit: 'perSec', limit: value } }
}

function toMs(value: number, unit: Unit | null): number {
  switch (unit) {
    case 's':
      return value * 1000
    case 'us':
    case 'µs':
      return value / 1000
    default:
      return value
  }
}
