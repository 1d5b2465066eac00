/**
 * What one worker thread measures for one transport. The hot path (one call per delivered event,
 * ~1M/s across the harness) is a WASM histogram record and a few integer increments, nothing
 * else: no allocation, no Map, no clock.
 *
 * Everything else happens once per interval (`rollInterval`, 1 s by default) or once per run
 * (`toWorkerReport`, which serializes the histograms as compressed base64 so the report crosses a
 * `worker_threads` boundary as a plain object). The coordinator decodes the reports into parts and
 * adds them with report/measurements.ts's exact merge (`mergeWorkerReports`).
 */

import { build, type Histogram, initWebAssemblySync } from 'hdr-histogram-js'
import {
  COUNTER_KEYS,
  DEFAULT_HISTOGRAM_SETTINGS,
  DEFAULT_INTERVAL_MS,
  decodeHistogram,
  type EventLoopDelaySummary,
  emptyCounters,
  encodeHistogram,
  type HistogramSettings,
  type MergedMetrics,
  type MetricCounters,
  type MetricsPart,
  mergeMetricParts,
  type TransportName,
} from '../report/measurements.js'
import { mergeSpread, type SpreadReport } from './broadcast-spread.js'

/** Version of the worker report object, so a coordinator never merges a foreign shape (2: recovery split, staleness, spread). */
export const WORKER_REPORT_VERSION = 2

export interface TransportMetricsOptions extends Partial<HistogramSettings> {
  /** Wall-clock ms at which the first interval starts (`Date.now()` of the caller). */
  readonly nowMs: number
  /** Interval length for the time series; rolls happen when the caller says so. */
  readonly intervalMs?: number
  /**
   * WASM records ~3–4× faster than the JS histogram in this package on Node 20 (see
   * bench/micro/histogram.bench.ts), so it is the default for the recording histograms.
   * It must be `destroy()`ed; merged histograms on the coordinator are plain JS.
   */
  readonly useWasm?: boolean
  /** Which worker made this report (for diagnostics only). */
  readonly workerId?: number
}

/** One closed interval of one worker, serializable. */
export interface IntervalReport {
  readonly startMs: number
  readonly endMs: number
  /** Latency histogram of this interval only, compressed base64 (HdrHistogram V2 encoding). */
  readonly latency: string
  readonly counters: Readonly<MetricCounters>
  /** Open connections when the interval closed. */
  readonly connections: number
}

/** Everything one worker measured for one transport; a plain object (structured-clone safe). */
export interface WorkerReport {
  readonly version: typeof WORKER_REPORT_VERSION
  readonly transport: TransportName
  readonly workerId: number
  readonly intervalMs: number
  readonly histogram: HistogramSettings
  readonly startMs: number
  readonly latency: string
  readonly connectTime: string
  readonly recovery: string
  /** Recovery split in three (see event-observer.ts): drop → reconnected, caught up, first new. */
  readonly reconnected: string
  readonly caughtUp: string
  readonly firstNew: string
  /** Age of a held value when a conflated snapshot replaced it. */
  readonly staleness: string
  readonly counters: Readonly<MetricCounters>
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly intervals: readonly IntervalReport[]
  readonly connections: number
  readonly eventLoopDelay: EventLoopDelaySummary | null
  /** The pool's broadcast-spread samples (a pool's report; absent from a live span's). */
  readonly spread?: SpreadReport
  /**
   * Watch-list changes asked for in the window (executor arrival-rate), and per change answered,
   * change → the server's acknowledgement (see EventObserver.acknowledged).
   */
  readonly watchListChanges?: { readonly changes: number; readonly acknowledged: string }
}

export interface TransportMetrics {
  readonly transport: TransportName
  /**
   * One delivered event: counts a delivery and records receipt − scheduled time in µs. Call it
   * once per event, and nothing else for the delivery count. Negative values (clock skew) are
   * counted, not recorded; values above `highestUs` are recorded as `highestUs` and counted.
   */
  recordLatencyUs(latencyUs: number): void
  addBytes(bytes: number): void
  /** `missing` events skipped (the gap size from a sequence tracker). */
  addGap(missing: number): void
  countDuplicate(): void
  countOutOfOrder(): void
  /** A successful connect (including a reconnect) and how long it took. */
  recordConnectUs(connectUs: number): void
  countError(kind: string): void
  /** A dropped connection that the subscriber is going to re-establish. */
  countReconnect(): void
  /** Drop → first resumed event, in µs. */
  recordRecoveryUs(recoveryUs: number): void
  /** Drop → the stream or socket answered again, µs. */
  recordReconnectedUs(us: number): void
  /** Drop → every event sent before the reconnect had arrived, µs. */
  recordCaughtUpUs(us: number): void
  /** Drop → the first event sent after the reconnect, µs. */
  recordFirstNewUs(us: number): void
  /** How old a held value was when a conflated snapshot replaced it, µs. */
  recordStalenessUs(us: number): void
  /** A subscriber asked for another watch-list. */
  countWatchListChange(): void
  /**
   * A change asked for at `askedAtUs` (epoch µs) was acknowledged `us` later; one asked before
   * the window began (its count went with the warm-up) is not recorded, so the histogram never
   * holds more than the changes counted.
   */
  recordWatchListChangeUs(us: number, askedAtUs: number): void
  addRecoveredByReplay(events: number): void
  countSnapshot(reset: boolean): void
  connectionOpened(): void
  connectionClosed(): void
  readonly connections: number
  /** Counters since the start (or the last `reset`), live; for the progress line. */
  readonly counters: Readonly<MetricCounters>
  /** p99 of everything recorded so far in µs (closed intervals plus the open one); not for the hot path. */
  latencyPercentileUs(percentile: number): number
  /** Closes the interval [last roll, nowMs) and starts the next one. */
  rollInterval(nowMs: number): IntervalReport
  /**
   * Forgets what was recorded (the warm-up), keeping the connection gauge and the connect-time
   * histogram (connects happen in the ramp); the next interval starts at nowMs.
   */
  reset(nowMs: number): void
  toWorkerReport(extra?: { readonly eventLoopDelay?: EventLoopDelaySummary }): WorkerReport
  /** Frees the WASM memory. The object is unusable afterwards. */
  destroy(): void
}

let wasmReady = false

function ensureWasm(): void {
  if (wasmReady) return
  initWebAssemblySync()
  wasmReady = true
}

function newHistogram(settings: HistogramSettings, useWasm: boolean): Histogram {
  if (useWasm) ensureWasm()
  return build({
    lowestDiscernibleValue: settings.lowestUs,
    highestTrackableValue: settings.highestUs,
    numberOfSignificantValueDigits: settings.significantDigits,
    // Values are clamped before recording, so the array never has to grow on the hot path.
    autoResize: false,
    useWebAssembly: useWasm,
  })
}

export function createTransportMetrics(
  transport: TransportName,
  options: TransportMetricsOptions,
): TransportMetrics {
  const settings: HistogramSettings = Object.freeze({
    lowestUs: options.lowestUs ?? DEFAULT_HISTOGRAM_SETTINGS.lowestUs,
    highestUs: options.highestUs ?? DEFAULT_HISTOGRAM_SETTINGS.highestUs,
    significantDigits: options.significantDigits ?? DEFAULT_HISTOGRAM_SETTINGS.significantDigits,
  })
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS
  const useWasm = options.useWasm ?? true
  const workerId = options.workerId ?? 0
  const highestUs = settings.highestUs

  // The hot path records into the interval histogram only; a roll adds it into the run total.
  const intervalLatency = newHistogram(settings, useWasm)
  const totalLatency = newHistogram(settings, useWasm)
  const connectTime = newHistogram(settings, useWasm)
  const recovery = newHistogram(settings, useWasm)
  // Recorded once per reconnect or conflation, never per event: JS histograms would do, but
  // these share the others' settings and lifecycle.
  const reconnected = newHistogram(settings, useWasm)
  const caughtUp = newHistogram(settings, useWasm)
  const firstNew = newHistogram(settings, useWasm)
  const staleness = newHistogram(settings, useWasm)
  const changeAcknowledged = newHistogram(settings, useWasm)
  let changes = 0
  let counters = emptyCounters()
  let atLastRoll = emptyCounters()
  let errorsByKind = new Map<string, number>()
  let intervals: IntervalReport[] = []
  let intervalStartMs = options.nowMs
  let startMs = options.nowMs
  let connections = 0
  let destroyed = false

  function clampUs(value: number): number {
    if (value > highestUs) {
      counters.clampedLatencies++
      return highestUs
    }
    return value < 0 ? 0 : value
  }

  function snapshotTotal(): Histogram {
    const total = newHistogram(settings, useWasm)
    total.add(totalLatency)
    total.add(intervalLatency)
    return total
  }

  return {
    transport,
    recordLatencyUs(latencyUs: number): void {
      counters.deliveries++
      if (latencyUs < 0) {
        counters.negativeLatencies++
        return
      }
      if (latencyUs > highestUs) {
        counters.clampedLatencies++
        intervalLatency.recordValue(highestUs)
        return
      }
      intervalLatency.recordValue(latencyUs)
    },
    addBytes(bytes: number): void {
      counters.bytes += bytes
    },
    addGap(missing: number): void {
      counters.gaps += missing
    },
    countDuplicate(): void {
      counters.duplicates++
    },
    countOutOfOrder(): void {
      counters.outOfOrder++
    },
    recordConnectUs(connectUs: number): void {
      counters.connects++
      connectTime.recordValue(clampUs(connectUs))
    },
    countError(kind: string): void {
      counters.errors++
      errorsByKind.set(kind, (errorsByKind.get(kind) ?? 0) + 1)
    },
    countReconnect(): void {
      counters.reconnects++
    },
    recordRecoveryUs(recoveryUs: number): void {
      recovery.recordValue(clampUs(recoveryUs))
    },
    recordReconnectedUs(us: number): void {
      reconnected.recordValue(clampUs(us))
    },
    recordCaughtUpUs(us: number): void {
      caughtUp.recordValue(clampUs(us))
    },
    recordFirstNewUs(us: number): void {
      firstNew.recordValue(clampUs(us))
    },
    recordStalenessUs(us: number): void {
      staleness.recordValue(clampUs(us))
    },
    countWatchListChange(): void {
      changes++
    },
    recordWatchListChangeUs(us: number, askedAtUs: number): void {
      if (askedAtUs < startMs * 1000) return
      changeAcknowledged.recordValue(clampUs(us))
    },
    addRecoveredByReplay(events: number): void {
      counters.eventsRecoveredByReplay += events
    },
    countSnapshot(reset: boolean): void {
      counters.snapshots++
      if (reset) counters.resets++
    },
    connectionOpened(): void {
      connections++
    },
    connectionClosed(): void {
      if (connections > 0) connections--
    },
    get connections() {
      return connections
    },
    get counters() {
      return counters
    },
    latencyPercentileUs(percentile: number): number {
      const total = snapshotTotal()
      const value = total.totalCount === 0 ? 0 : total.getValueAtPercentile(percentile)
      total.destroy()
      return value
    },
    rollInterval(nowMs: number): IntervalReport {
      const delta = emptyCounters()
      for (const key of COUNTER_KEYS) delta[key] = counters[key] - atLastRoll[key]
      const interval: IntervalReport = Object.freeze({
        startMs: intervalStartMs,
        endMs: nowMs,
        latency: encodeHistogram(intervalLatency),
        counters: Object.freeze(delta),
        connections,
      })
      totalLatency.add(intervalLatency)
      intervalLatency.reset()
      atLastRoll = { ...counters }
      intervalStartMs = nowMs
      intervals.push(interval)
      return interval
    },
    reset(nowMs: number): void {
      intervalLatency.reset()
      totalLatency.reset()
      // Connect times are kept: connections are made during the ramp, which the warm-up covers,
      // and how long they took is worth reporting (the connect count restarts with the rest).
      recovery.reset()
      reconnected.reset()
      caughtUp.reset()
      firstNew.reset()
      staleness.reset()
      changeAcknowledged.reset()
      changes = 0
      counters = emptyCounters()
      atLastRoll = emptyCounters()
      errorsByKind = new Map()
      intervals = []
      intervalStartMs = nowMs
      startMs = nowMs
    },
    toWorkerReport(extra = {}): WorkerReport {
      const total = snapshotTotal()
      const report: WorkerReport = {
        version: WORKER_REPORT_VERSION,
        transport,
        workerId,
        intervalMs,
        histogram: settings,
        startMs,
        latency: encodeHistogram(total),
        connectTime: encodeHistogram(connectTime),
        recovery: encodeHistogram(recovery),
        reconnected: encodeHistogram(reconnected),
        caughtUp: encodeHistogram(caughtUp),
        firstNew: encodeHistogram(firstNew),
        staleness: encodeHistogram(staleness),
        counters: { ...counters },
        errorsByKind: Object.fromEntries(errorsByKind),
        intervals: [...intervals],
        connections,
        eventLoopDelay: extra.eventLoopDelay ?? null,
        watchListChanges: { changes, acknowledged: encodeHistogram(changeAcknowledged) },
      }
      total.destroy()
      return report
    },
    destroy(): void {
      if (destroyed) return
      destroyed = true
      intervalLatency.destroy()
      totalLatency.destroy()
      connectTime.destroy()
      recovery.destroy()
      reconnected.destroy()
      caughtUp.destroy()
      firstNew.destroy()
      staleness.destroy()
      changeAcknowledged.destroy()
    },
  }
}

/** A worker's report with its histograms decoded (refuses a report of another version). */
export function decodeWorkerReport(report: WorkerReport): MetricsPart {
  if (report.version !== WORKER_REPORT_VERSION) {
    throw new RangeError(`worker report version ${String(report.version)} is not supported`)
  }
  const { watchListChanges: _encoded, ...rest } = report
  return {
    ...rest,
    latency: decodeHistogram(report.latency),
    connectTime: decodeHistogram(report.connectTime),
    recovery: decodeHistogram(report.recovery),
    split: {
      reconnected: decodeHistogram(report.reconnected),
      caughtUp: decodeHistogram(report.caughtUp),
      firstNew: decodeHistogram(report.firstNew),
    },
    staleness: decodeHistogram(report.staleness),
    ...(report.watchListChanges === undefined
      ? {}
      : {
          watchListChanges: {
            changes: report.watchListChanges.changes,
            acknowledged: decodeHistogram(report.watchListChanges.acknowledged),
          },
        }),
    intervals: report.intervals.map((interval) => ({
      ...interval,
      latency: decodeHistogram(interval.latency),
    })),
  }
}

/**
 * Merges the reports of several workers for one transport (see `mergeMetricParts`), and their
 * broadcast-spread samples over the window (from the earliest start: the pools reset together).
 */
export function mergeWorkerReports(reports: readonly WorkerReport[]): MergedMetrics {
  if (reports.length === 0) throw new RangeError('mergeWorkerReports needs at least one report')
  const merged = mergeMetricParts(reports.map(decodeWorkerReport))
  const samples = reports.flatMap((report) => (report.spread === undefined ? [] : [report.spread]))
  const spread = mergeSpread(samples, merged.startMs * 1000)
  return spread === null ? merged : { ...merged, spread }
}
