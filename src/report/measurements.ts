/**
 * The measurement vocabulary, below both the harness (which records in these terms) and the rest
 * of `report` (which reads them): the transports, the counters, the histogram settings, and the
 * exact merge of several sources' measurements of one transport.
 *
 * Histograms are ADDED and counters summed: percentiles are only ever read from a merged
 * histogram, never averaged (averaging p99s of two workers is not the p99 of both). The sources
 * are a run's worker threads (the harness decodes their reports into parts) or the result
 * directories of several harness hosts (`tickstorm merge`).
 */

import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js'

export type TransportName = 'sse' | 'longpoll' | 'ws' | 'eventsource' | 'http'

export const TRANSPORT_NAMES: readonly [TransportName, ...TransportName[]] = Object.freeze([
  'sse',
  'longpoll',
  'ws',
  'eventsource',
  'http',
]) as readonly [TransportName, ...TransportName[]]

export interface HistogramSettings {
  /** Smallest value told apart from 0, in µs. */
  readonly lowestUs: number
  /** Values above this are clamped to it and counted in `clampedLatencies`. */
  readonly highestUs: number
  readonly significantDigits: 1 | 2 | 3 | 4 | 5
}

export const DEFAULT_HISTOGRAM_SETTINGS: HistogramSettings = Object.freeze({
  lowestUs: 1,
  highestUs: 60_000_000,
  significantDigits: 3,
})

/** Every harness rolls intervals of this length (the `.hlog` does not record it). */
export const DEFAULT_INTERVAL_MS = 1000

/** Counters that only ever grow; interval values are deltas of these. */
export interface MetricCounters {
  /** Delivered events (each one also a latency sample, unless its latency was negative). */
  deliveries: number
  /** Bytes received, framing included (what the wire carried). */
  bytes: number
  /** Events missing by sequence when a later one arrived. */
  gaps: number
  duplicates: number
  /** Events that arrived after a later one (late fills of a gap). */
  outOfOrder: number
  /** Successful connects (first and re-connects). */
  connects: number
  errors: number
  reconnects: number
  eventsRecoveredByReplay: number
  snapshots: number
  /** Snapshots with `reset: true`: the resume point was lost, so history was too. */
  resets: number
  /** Receipt before the scheduled time: clock skew. Not recorded in the histogram, never clamped to 0. */
  negativeLatencies: number
  /** Latencies above `highestUs`, recorded as `highestUs`. */
  clampedLatencies: number
}

export const COUNTER_KEYS: readonly (keyof MetricCounters)[] = Object.freeze([
  'deliveries',
  'bytes',
  'gaps',
  'duplicates',
  'outOfOrder',
  'connects',
  'errors',
  'reconnects',
  'eventsRecoveredByReplay',
  'snapshots',
  'resets',
  'negativeLatencies',
  'clampedLatencies',
])

export function emptyCounters(): MetricCounters {
  const counters = {} as MetricCounters
  for (const key of COUNTER_KEYS) counters[key] = 0
  return counters
}

export function addCounters(into: MetricCounters, from: Readonly<MetricCounters>): void {
  for (const key of COUNTER_KEYS) into[key] += from[key]
}

export interface EventLoopDelaySummary {
  readonly p50Us: number
  readonly p99Us: number
  readonly maxUs: number
  readonly meanUs: number
}

/** Decodes into a JS histogram with 64-bit counts: merged totals outgrow 32-bit buckets. */
export function decodeHistogram(base64: string): Histogram {
  const histogram = decodeFromCompressedBase64(base64, 64, false)
  histogram.autoResize = true
  return histogram
}

/** HdrHistogram's compressed V2 encoding in base64: what a `.hlog` line and a result carry. */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram)
}

/** A JS histogram with 64-bit counts to add others into. */
export function emptyHistogram(
  settings: HistogramSettings = DEFAULT_HISTOGRAM_SETTINGS,
): Histogram {
  return build({
    lowestDiscernibleValue: settings.lowestUs,
    highestTrackableValue: settings.highestUs,
    numberOfSignificantValueDigits: settings.significantDigits,
    bitBucketSize: 64,
    autoResize: true,
  })
}

/** One interval's latency histogram on the wall clock: a line of a `.hlog`. */
export interface LatencyInterval {
  /** Wall ms since the epoch. */
  readonly startMs: number
  readonly endMs: number
  readonly histogram: Histogram
}

/**
 * Recovery after a drop in three, µs from the drop (schema version 6): to the stream or socket
 * answering, to every event sent before the reconnect having arrived, to the first one sent after.
 */
export interface RecoverySplit {
  readonly reconnected: Histogram
  readonly caughtUp: Histogram
  readonly firstNew: Histogram
}

/**
 * Broadcast spread (schema version 6): per sampled event, first receipt → last receipt across
 * the subscribers that should get it, µs; `incomplete`, the samples some of them did not receive.
 * Measured over one harness's pools: hosts' spreads cannot be added into one.
 */
export interface SpreadMeasurement {
  readonly spread: Histogram
  readonly incomplete: number
}

/**
 * Watch-list changes of an open model's subscribers (executor arrival-rate): how many were asked
 * for, and per change the server acknowledged, µs from asking to its answer.
 */
export interface WatchListChangeMeasurement {
  readonly changes: number
  readonly acknowledged: Histogram
}

/** One transport's measurements over a window: full histograms, counters, the open connections. */
interface Measurements {
  readonly transport: TransportName
  readonly intervalMs: number
  readonly startMs: number
  readonly latency: Histogram
  readonly connectTime: Histogram
  readonly recovery: Histogram
  /** Absent from sources written before schema version 6 (or that did not measure it). */
  readonly split?: RecoverySplit
  /** Age of a held value when a conflated snapshot replaced it, µs (schema version 6). */
  readonly staleness?: Histogram
  /** Absent from sources that made no changes' measurement. */
  readonly watchListChanges?: WatchListChangeMeasurement
  readonly counters: Readonly<MetricCounters>
  readonly errorsByKind: Readonly<Record<string, number>>
  /** Connections open when the measurement was reported (merged: summed over the sources). */
  readonly connections: number
  /** The event-loop delay of the harness thread (merged: the worst one, which decides validity), or null. */
  readonly eventLoopDelay: EventLoopDelaySummary | null
}

/** One interval of a source: its latency histogram, counter deltas and open connections. */
interface IntervalMeasurements {
  readonly startMs: number
  readonly endMs: number
  readonly latency: Histogram
  readonly counters: Readonly<MetricCounters>
  readonly connections: number
}

/**
 * One source of measurements for one transport, histograms decoded: a worker's report, or one
 * transport of a result directory written by another harness host (`tickstorm merge`).
 * `mergeMetricParts` adds any number of them.
 */
export interface MetricsPart extends Measurements {
  readonly histogram: HistogramSettings
  readonly intervals: readonly IntervalMeasurements[]
}

/**
 * A merged interval spans its grid cell (see `mergeMetricParts`), clipped to its members' first
 * start and last end; its connections are summed over the sources.
 */
export interface MergedInterval extends IntervalMeasurements {
  /** How many worker intervals were added into this one. */
  readonly workers: number
}

export interface MergedMetrics extends Measurements {
  /** How many sources were added. */
  readonly workers: number
  readonly intervals: readonly MergedInterval[]
  /** The broadcast spread, when one harness's pools sampled it (see SpreadMeasurement). */
  readonly spread?: SpreadMeasurement
}

/** The merged per-interval latency histograms, as a `.hlog` holds them. */
export function latencyIntervalsOf(merged: MergedMetrics): LatencyInterval[] {
  return merged.intervals.map((interval) => ({
    startMs: interval.startMs,
    endMs: interval.endMs,
    histogram: interval.latency,
  }))
}

interface Slot {
  startMs: number
  endMs: number
  latency: Histogram
  counters: MetricCounters
  /** Connections is a gauge: per part the highest reading in the cell, summed over parts. */
  connectionsByPart: Map<number, number>
  workers: number
}

/**
 * Merges measurements of one transport from several workers (or several harness hosts).
 * Histograms are added, counters summed.
 * Intervals are aligned on the wall-clock grid of `intervalMs` (whole seconds since the epoch):
 * each part's interval goes to the grid cell that holds its midpoint. Workers that roll on
 * whole-second boundaries, give or take a few ms of timer jitter, land cell for cell; workers
 * with other phases still get one cell per full interval (midpoints are intervalMs apart), and
 * only a short first or last interval may share a cell with a neighbour (its counts add).
 * A merged interval spans its cell, clipped to the first start and last end of its members.
 */
export function mergeMetricParts(parts: readonly MetricsPart[]): MergedMetrics {
  const first = parts[0]
  if (first === undefined) throw new RangeError('mergeMetricParts needs at least one part')
  for (const part of parts) {
    if (part.transport !== first.transport || part.intervalMs !== first.intervalMs) {
      throw new RangeError('worker reports differ in transport or interval length')
    }
  }
  const intervalMs = first.intervalMs
  const latency = emptyHistogram(first.histogram)
  const connectTime = emptyHistogram(first.histogram)
  const recovery = emptyHistogram(first.histogram)
  // Only sources that measured them add in; none did: absent.
  const split = parts.some((part) => part.split !== undefined)
    ? {
        reconnected: emptyHistogram(first.histogram),
        caughtUp: emptyHistogram(first.histogram),
        firstNew: emptyHistogram(first.histogram),
      }
    : undefined
  const staleness = parts.some((part) => part.staleness !== undefined)
    ? emptyHistogram(first.histogram)
    : undefined
  const changeAcknowledged = parts.some((part) => part.watchListChanges !== undefined)
    ? emptyHistogram(first.histogram)
    : undefined
  let changes = 0
  const counters = emptyCounters()
  const errorsByKind: Record<string, number> = {}
  const slots = new Map<number, Slot>()
  let connections = 0
  let startMs = Number.POSITIVE_INFINITY
  let eventLoopDelay: EventLoopDelaySummary | null = null

  for (const [partIndex, part] of parts.entries()) {
    latency.add(part.latency)
    connectTime.add(part.connectTime)
    recovery.add(part.recovery)
    if (split !== undefined && part.split !== undefined) {
      split.reconnected.add(part.split.reconnected)
      split.caughtUp.add(part.split.caughtUp)
      split.firstNew.add(part.split.firstNew)
    }
    if (staleness !== undefined && part.staleness !== undefined) staleness.add(part.staleness)
    if (changeAcknowledged !== undefined && part.watchListChanges !== undefined) {
      changeAcknowledged.add(part.watchListChanges.acknowledged)
      changes += part.watchListChanges.changes
    }
    addCounters(counters, part.counters)
    for (const [kind, count] of Object.entries(part.errorsByKind)) {
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + count
    }
    connections += part.connections
    startMs = Math.min(startMs, part.startMs)
    if (
      part.eventLoopDelay !== null &&
      (eventLoopDelay === null || part.eventLoopDelay.p99Us > eventLoopDelay.p99Us)
    ) {
      eventLoopDelay = part.eventLoopDelay
    }
    for (const interval of part.intervals) {
      const slotMs = Math.floor((interval.startMs + interval.endMs) / 2 / intervalMs) * intervalMs
      let slot = slots.get(slotMs)
      if (slot === undefined) {
        slot = {
          startMs: interval.startMs,
          endMs: interval.endMs,
          latency: emptyHistogram(part.histogram),
          counters: emptyCounters(),
          connectionsByPart: new Map(),
          workers: 0,
        }
        slots.set(slotMs, slot)
      }
      slot.latency.add(interval.latency)
      addCounters(slot.counters, interval.counters)
      const seen = slot.connectionsByPart.get(partIndex) ?? 0
      slot.connectionsByPart.set(partIndex, Math.max(seen, interval.connections))
      slot.workers++
      slot.startMs = Math.min(slot.startMs, interval.startMs)
      slot.endMs = Math.max(slot.endMs, interval.endMs)
    }
  }

  const intervals: MergedInterval[] = [...slots.entries()]
    .sort(([a], [b]) => a - b)
    .map(([slotMs, slot]) => ({
      startMs: Math.max(slotMs, slot.startMs),
      endMs: Math.min(slotMs + intervalMs, slot.endMs),
      latency: slot.latency,
      counters: slot.counters,
      connections: [...slot.connectionsByPart.values()].reduce((sum, value) => sum + value, 0),
      workers: slot.workers,
    }))

  return {
    transport: first.transport,
    workers: parts.length,
    intervalMs,
    startMs,
    latency,
    connectTime,
    recovery,
    ...(split === undefined ? {} : { split }),
    ...(staleness === undefined ? {} : { staleness }),
    ...(changeAcknowledged === undefined
      ? {}
      : { watchListChanges: { changes, acknowledged: changeAcknowledged } }),
    counters,
    errorsByKind,
    intervals,
    connections,
    eventLoopDelay,
  }
}
