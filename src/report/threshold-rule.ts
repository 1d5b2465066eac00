/**
 * One threshold once compiled, and how its figure is read: from a time metric's percentiles or
 * histogram, or from counters over a span of intervals (an `over:` window, or the live window of
 * a run). Shared by the judge of a finished result (thresholds.ts) and the judge of a run as it
 * goes (threshold-live.ts), so both read a figure the same way.
 */

import type { Histogram } from 'hdr-histogram-js'
import type { MetricCounters, TransportName } from './measurements.js'
import type { Aggregation, Operator } from './threshold-expression.js'
import type { MetricName, OutcomeUnit } from './threshold-metrics.js'

/** One threshold compiled: what it judges, how, and on which transports. */
export interface ThresholdRule {
  /** The metric and its tag as k6 writes them: `latency`, `latency{transport:ws}`. */
  readonly name: string
  readonly metric: MetricName
  /** Only this transport (`latency{transport:ws}`); null: every one. */
  readonly transport: TransportName | null
  /** As written (trimmed): `p(99) < 100ms`. */
  readonly expression: string
  readonly aggregation: Aggregation
  readonly operator: Operator
  readonly limit: number
  readonly unit: OutcomeUnit
  /** Every window of this many seconds must hold; null: the whole measurement. */
  readonly overSec: number | null
  readonly abortOnFail: boolean
  /** Seconds of measurement before it may stop the run. */
  readonly delayAbortEvalSec: number
}

/** Percentiles as a result holds them (µs). */
export interface PercentilesUs {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
  readonly count: number
}

/** A time metric's figures: summary percentiles and, decoded on demand, the full histogram. */
export interface TimeFigures {
  readonly percentiles: Partial<PercentilesUs> | undefined
  readonly histogram: () => Histogram | undefined
}

/** A metric's value for one aggregation, or why it has none. */
export type Reading = { readonly value: number } | { readonly missing: string }

/** Reads an aggregation of a time metric, in ms. */
export function readTime(figures: TimeFigures, aggregation: Aggregation): Reading {
  const p = figures.percentiles
  const summary = (() => {
    if (p === undefined) return undefined
    switch (aggregation.kind) {
      case 'p':
        return aggregation.percentile === 50
          ? p.p50
          : aggregation.percentile === 90
            ? p.p90
            : aggregation.percentile === 99
              ? p.p99
              : aggregation.percentile === 99.9
                ? p.p999
                : aggregation.percentile === 100
                  ? p.max
                  : undefined
      case 'med':
        return p.p50
      case 'avg':
        return p.mean
      case 'max':
        return p.max
      default:
        return undefined
    }
  })()
  if (summary !== undefined) return { value: summary / 1000 }
  const histogram = figures.histogram()
  if (histogram === undefined) {
    return {
      missing:
        p === undefined
          ? 'not measured'
          : 'needs the full histogram, which this result does not hold',
    }
  }
  return { value: histogramValue(histogram, aggregation) / 1000 }
}

/** An aggregation of a histogram, in its unit (µs); 0 for an empty one. */
function histogramValue(histogram: Histogram, aggregation: Aggregation): number {
  if (histogram.totalCount === 0) return 0
  switch (aggregation.kind) {
    case 'p':
      return histogram.getValueAtPercentile(aggregation.percentile)
    case 'med':
      return histogram.getValueAtPercentile(50)
    case 'avg':
      return histogram.mean
    case 'min':
      return histogram.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : histogram.minNonZeroValue
    case 'max':
      return histogram.maxValue
    default:
      return 0
  }
}

/** Counters over a span of intervals, and their latency added up. */
export interface WindowFigures {
  readonly counters: Readonly<
    Pick<
      MetricCounters,
      'deliveries' | 'errors' | 'connects' | 'gaps' | 'duplicates' | 'outOfOrder' | 'reconnects'
    >
  >
  readonly sec: number
  readonly latency: Histogram | undefined
}

/** A per-interval metric's figure over a window (or live, over the measurement so far). */
export function readWindow(rule: ThresholdRule, window: WindowFigures): Reading {
  const c = window.counters
  const kind = rule.aggregation.kind
  const lost = Math.max(0, c.gaps - c.outOfOrder)
  switch (rule.metric) {
    case 'latency':
      return window.latency === undefined
        ? { missing: 'not measured' }
        : readTime({ percentiles: undefined, histogram: () => window.latency }, rule.aggregation)
    case 'loss': {
      if (kind === 'count') return { value: lost }
      const expected = c.deliveries - c.duplicates + lost
      return { value: expected > 0 ? lost / expected : 0 }
    }
    case 'errors': {
      if (kind === 'count') return { value: c.errors }
      const sessions = c.connects + c.errors
      return { value: sessions > 0 ? c.errors / sessions : 0 }
    }
    case 'deliveries':
      return {
        value: kind === 'count' ? c.deliveries : window.sec > 0 ? c.deliveries / window.sec : 0,
      }
    case 'reconnects':
      return {
        value: kind === 'count' ? c.reconnects : window.sec > 0 ? c.reconnects / window.sec : 0,
      }
    default:
      return { missing: 'not measured per interval' }
  }
}
