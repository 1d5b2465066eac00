/**
 * From one transport's merged measurements to its part of the result: percentiles are read from
 * the merged histograms, rates divide by the measured time, and the judgements that come from
 * elsewhere (the harness's validity, the scenario's thresholds) are given.
 */

import type { Histogram } from 'hdr-histogram-js'
import {
  DEFAULT_HISTOGRAM_SETTINGS,
  DEFAULT_INTERVAL_MS,
  emptyCounters,
  emptyHistogram,
  encodeHistogram,
  type MergedMetrics,
  mergeMetricParts,
  type TransportName,
} from './measurements.js'
import type { DistributionPoint, Percentiles, TransportResult, Validity } from './result-schema.js'
import { evaluateThresholds, type Thresholds } from './thresholds.js'
import { transportReasons } from './verdict.js'

/** Percentiles of a histogram, µs. An empty histogram gives zeros. */
export function percentilesOf(histogram: Histogram): Percentiles {
  if (histogram.totalCount === 0)
    return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 }
  return {
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean * 1000) / 1000,
    count: histogram.totalCount,
  }
}

/**
 * The HdrHistogram percentile distribution on a "nines" grid: percentiles 1 − 10^−k for k from 0
 * in steps of `1/stepsPerNine`, up to the nines the sample count supports (p99.9 needs ≫ 1,000
 * samples), then the max at 100.
 */
export function percentileDistribution(
  histogram: Histogram,
  stepsPerNine = 10,
): DistributionPoint[] {
  const total = histogram.totalCount
  if (total === 0) return []
  const maxNines = Math.max(1, Math.min(6, Math.log10(total)))
  const points: DistributionPoint[] = []
  for (let step = 0; step <= Math.floor(maxNines * stepsPerNine); step++) {
    const percentile = 100 * (1 - 10 ** (-step / stepsPerNine))
    points.push({
      percentile: Math.round(percentile * 1e6) / 1e6,
      valueUs: histogram.getValueAtPercentile(percentile),
    })
  }
  points.push({ percentile: 100, valueUs: histogram.maxValue })
  return points
}

export interface TransportResultContext {
  readonly subscribersAsked: number
  /** Wall ms when the measurement started (the warm-up's end); time-series t = 0. */
  readonly measureStartMs: number
  readonly measuredSec: number
  /** The embedded server's /proc summary over the measurement, or null (a URL target). */
  readonly server: ServerSummary | null
  readonly harness: {
    readonly cpuPercentSamples: readonly number[]
    readonly cpuUs: number
    readonly cores: number
  }
  /**
   * Whether the measurement is the server's and not the harness's: the harness judges its own
   * saturation (harness/validity.ts); a merge combines its inputs' verdicts.
   */
  readonly validity: Validity
  readonly thresholds?: Readonly<Thresholds>
}

/** What the process sampler said of the server over the measurement. */
export interface ServerSummary {
  readonly cpuPercentAvg: number
  readonly cpuPercentMax: number
  readonly rssBytesMax: number
  /** RSS before any subscriber connected; null when unknown. */
  readonly rssBytesBaseline: number | null
  /** Its samples over the measurement, oldest first (absent: none kept). */
  readonly samples?: readonly {
    readonly atMs: number
    readonly cpuPercent: number
    readonly rssBytes: number
  }[]
}

/** Turns one transport's merged metrics into its part of the result; percentiles from the merged histograms. */
export function buildTransportResult(
  merged: MergedMetrics,
  context: TransportResultContext,
): TransportResult {
  const c = merged.counters
  const seconds = context.measuredSec > 0 ? context.measuredSec : 0
  const lost = Math.max(0, c.gaps - c.outOfOrder)
  const expected = c.deliveries - c.duplicates + lost
  const connectedMax = merged.intervals.reduce(
    (max, interval) => Math.max(max, interval.connections),
    0,
  )
  const samples = context.harness.cpuPercentSamples
  const elp = merged.eventLoopDelay
  const server = context.server
  const result: TransportResult = {
    transport: merged.transport,
    subscribers: {
      asked: context.subscribersAsked,
      connectedMax: Math.max(connectedMax, merged.connections),
      connectedAtEnd: merged.connections,
    },
    measuredSec: seconds,
    latencyUs: percentilesOf(merged.latency),
    latencyDistribution: percentileDistribution(merged.latency),
    deliveries: c.deliveries,
    deliveriesPerSec: seconds > 0 ? c.deliveries / seconds : 0,
    bytes: c.bytes,
    bytesPerSec: seconds > 0 ? c.bytes / seconds : 0,
    bytesPerEvent: c.deliveries > 0 ? c.bytes / c.deliveries : null,
    gaps: c.gaps,
    duplicates: c.duplicates,
    outOfOrder: c.outOfOrder,
    lost,
    lossRatio: expected > 0 ? lost / expected : 0,
    snapshots: c.snapshots,
    resets: c.resets,
    negativeLatencies: c.negativeLatencies,
    clampedLatencies: c.clampedLatencies,
    connects: c.connects,
    connectTimeUs: percentilesOf(merged.connectTime),
    errors: c.errors,
    errorsByKind: { ...merged.errorsByKind },
    // Over sessions and errors: a failed connect and an event that could not be read are each an
    // error, so a stream of unreadable events drives the rate towards 1 (2,440 of them over 10
    // connects: 0.996), while a healthy run with a few connect errors is not diluted by its
    // millions of deliveries.
    errorRate: c.connects + c.errors > 0 ? c.errors / (c.connects + c.errors) : 0,
    reconnects: c.reconnects,
    recoveryUs: percentilesOf(merged.recovery),
    eventsRecoveredByReplay: c.eventsRecoveredByReplay,
    server:
      server === null
        ? null
        : {
            cpuPercentAvg: server.cpuPercentAvg,
            cpuPercentMax: server.cpuPercentMax,
            rssBytesMax: server.rssBytesMax,
            rssBytesPerConnection:
              server.rssBytesBaseline !== null && connectedMax > 0
                ? Math.max(0, server.rssBytesMax - server.rssBytesBaseline) / connectedMax
                : null,
          },
    harness: {
      cpuPercentAvg: samples.length === 0 ? 0 : samples.reduce((a, b) => a + b, 0) / samples.length,
      cpuPercentMax: samples.length === 0 ? 0 : Math.max(...samples),
      cores: context.harness.cores,
      eventLoopDelayP99Us: elp?.p99Us ?? 0,
      eventLoopDelayMaxUs: elp?.maxUs ?? 0,
      cpuUsPerEvent: c.deliveries > 0 ? context.harness.cpuUs / c.deliveries : null,
    },
    validity: context.validity,
    timeSeries: merged.intervals.map((interval) => {
      const spanSec = (interval.endMs - interval.startMs) / 1000 || merged.intervalMs / 1000
      const hasSamples = interval.latency.totalCount > 0
      return {
        tSec: (interval.startMs - context.measureStartMs) / 1000,
        deliveries: interval.counters.deliveries,
        deliveriesPerSec: interval.counters.deliveries / spanSec,
        p50Us: hasSamples ? interval.latency.getValueAtPercentile(50) : 0,
        p99Us: hasSamples ? interval.latency.getValueAtPercentile(99) : 0,
        connections: interval.connections,
        errors: interval.counters.errors,
        reconnects: interval.counters.reconnects,
      }
    }),
    thresholds: [],
    histograms: {
      latencyUs: encodeHistogram(merged.latency),
      connectTimeUs: encodeHistogram(merged.connectTime),
      recoveryUs: encodeHistogram(merged.recovery),
    },
  }
  addVersion6Figures(result, merged)
  if (server?.samples !== undefined && server.samples.length > 0) {
    result.serverSeries = server.samples.map((sample) => ({
      tSec: (sample.atMs - context.measureStartMs) / 1000,
      cpuPercent: sample.cpuPercent,
      rssBytes: sample.rssBytes,
    }))
  }
  if (context.thresholds) result.thresholds = evaluateThresholds(context.thresholds, result)
  return result
}

/**
 * The figures schema version 6 added that the harness measures: recovery split in three,
 * broadcast spread, staleness under conflation, and the watch-list changes' acknowledgements (an
 * open model's), each with its encoded histogram (for a merge).
 * Absent when the measurements do not hold them (older sources); the split also when nothing
 * dropped.
 */
function addVersion6Figures(result: TransportResult, merged: MergedMetrics): void {
  const extra: NonNullable<TransportResult['extraHistograms']> = {}
  // Recovery after a drop: a run without one has nothing to split (and `recoveryUs` says 0).
  const split = merged.split
  if (
    split !== undefined &&
    split.reconnected.totalCount + split.caughtUp.totalCount + split.firstNew.totalCount > 0
  ) {
    result.recoverySplit = {
      reconnectedUs: percentilesOf(split.reconnected),
      caughtUpUs: percentilesOf(split.caughtUp),
      firstNewUs: percentilesOf(split.firstNew),
    }
    extra.reconnectedUs = encodeHistogram(split.reconnected)
    extra.caughtUpUs = encodeHistogram(split.caughtUp)
    extra.firstNewUs = encodeHistogram(split.firstNew)
  }
  if (merged.spread !== undefined) {
    result.spread = {
      spreadUs: percentilesOf(merged.spread.spread),
      incomplete: merged.spread.incomplete,
    }
    extra.spreadUs = encodeHistogram(merged.spread.spread)
  }
  // Plain requests (`http`) hold no value to go stale.
  if (merged.staleness !== undefined && merged.transport !== 'http') {
    result.stalenessUs = percentilesOf(merged.staleness)
    extra.stalenessUs = encodeHistogram(merged.staleness)
  }
  const changes = merged.watchListChanges
  if (changes !== undefined && changes.changes > 0) {
    result.watchListChanges = {
      changes: changes.changes,
      acknowledgedUs: percentilesOf(changes.acknowledged),
    }
    extra.changeAcknowledgedUs = encodeHistogram(changes.acknowledged)
  }
  if (Object.keys(extra).length > 0) result.extraHistograms = extra
}

/**
 * A run passes when no transport has a reason to fail (verdict.ts `transportReasons`): every one
 * ran to its end, was valid, delivered something, had any watch-list changes it was asked for
 * acknowledged and passed every threshold. A transport that delivered nothing measured nothing,
 * whatever its thresholds say (a loss of 0 over 0 events is no evidence).
 */
export function runPassed(transports: readonly TransportResult[]): boolean {
  return transports.every((transport) => transportReasons(transport).length === 0)
}

/**
 * The result of a transport whose run crashed: nothing measured, the cause in `failure`. The run
 * goes on to its next transport and keeps what the others measured; this one fails it.
 */
export function failedTransportResult(
  transport: TransportName,
  subscribersAsked: number,
  cause: unknown,
): TransportResult {
  const settings = DEFAULT_HISTOGRAM_SETTINGS
  const now = Date.now()
  const merged = mergeMetricParts([
    {
      transport,
      histogram: settings,
      intervalMs: DEFAULT_INTERVAL_MS,
      startMs: now,
      latency: emptyHistogram(settings),
      connectTime: emptyHistogram(settings),
      recovery: emptyHistogram(settings),
      counters: emptyCounters(),
      errorsByKind: {},
      connections: 0,
      eventLoopDelay: null,
      intervals: [],
    },
  ])
  const result = buildTransportResult(merged, {
    subscribersAsked,
    measureStartMs: now,
    measuredSec: 0,
    server: null,
    harness: { cpuPercentSamples: [], cpuUs: 0, cores: 1 },
    validity: { valid: true, invalidReasons: [] },
  })
  const code = (cause as { code?: unknown } | null)?.code
  result.failure = {
    message: cause instanceof Error ? cause.message : String(cause),
    ...(typeof code === 'string' ? { code } : {}),
  }
  return result
}
