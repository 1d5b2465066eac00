/**
 * The harness's measuring core. Each worker thread keeps one `TransportMetrics` per transport it
 * drives; the hot path (one call per delivered event, ~1M/s across the harness) is a WASM
 * histogram record and a few integer increments, nothing else: no allocation, no Map, no clock.
 *
 * Everything else happens once per interval (`rollInterval`, 1 s by default) or once per run
 * (`toWorkerReport`, which serializes the histograms as compressed base64 so the report crosses a
 * `worker_threads` boundary as a plain object). The coordinator merges reports with
 * `mergeWorkerReports` by ADDING histograms and summing counters: percentiles are only ever read
 * from a merged histogram, never averaged (averaging p99s of two workers is not the p99 of both).
 */

import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
  initWebAssemblySync,
} from 'hdr-histogram-js'

export type TransportName = 'sse' | 'longpoll' | 'ws' | 'eventsource' | 'http'

/** Version of the worker report object, so a coordinator never merges a foreign shape. */
export const WORKER_REPORT_VERSION = 1

export interface HistogramSettings {
  /** Smallest value told apart from 0, in µs. */
  readonly lowestUs: number
  /** Values above this are clamped to it and counted in `clampedLatencies`. */
  readonly highestUs: number
  readonly significantDigits: 1 | 2 | 3 | 4 | 5
}

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

export const DEFAULT_HISTOGRAM_SETTINGS: HistogramSettings = Object.freeze({
  lowestUs: 1,
  highestUs: 60_000_000,
  significantDigits: 3,
})

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

const COUNTER_KEYS: readonly (keyof MetricCounters)[] = Object.freeze([
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
  return {
    deliveries: 0,
    bytes: 0,
    gaps: 0,
    duplicates: 0,
    outOfOrder: 0,
    connects: 0,
    errors: 0,
    reconnects: 0,
    eventsRecoveredByReplay: 0,
    snapshots: 0,
    resets: 0,
    negativeLatencies: 0,
    clampedLatencies: 0,
  }
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

export interface EventLoopDelaySummary {
  readonly p50Us: number
  readonly p99Us: number
  readonly maxUs: number
  readonly meanUs: number
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
  readonly counters: Readonly<MetricCounters>
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly intervals: readonly IntervalReport[]
  readonly connections: number
  readonly eventLoopDelay: EventLoopDelaySummary | null
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
        latency: encodeIntoCompressedBase64(intervalLatency),
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
        latency: encodeIntoCompressedBase64(total),
        connectTime: encodeIntoCompressedBase64(connectTime),
        recovery: encodeIntoCompressedBase64(recovery),
        counters: { ...counters },
        errorsByKind: Object.fromEntries(errorsByKind),
        intervals: [...intervals],
        connections,
        eventLoopDelay: extra.eventLoopDelay ?? null,
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
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Merging (coordinator side)

export interface MergedInterval {
  /** Its grid cell's start (see `mergeWorkerReports`), or its first member's start if later; ms since the epoch. */
  readonly startMs: number
  readonly endMs: number
  readonly latency: Histogram
  readonly counters: Readonly<MetricCounters>
  /** Sum over workers of open connections at the end of the interval. */
  readonly connections: number
  /** How many worker intervals were added into this one. */
  readonly workers: number
}

export interface MergedMetrics {
  readonly transport: TransportName
  readonly workers: number
  readonly intervalMs: number
  readonly startMs: number
  readonly latency: Histogram
  readonly connectTime: Histogram
  readonly recovery: Histogram
  readonly counters: Readonly<MetricCounters>
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly intervals: readonly MergedInterval[]
  /** Sum over workers of the connections open when each report was made. */
  readonly connections: number
  /** The worst worker's event-loop delay (the loop that lags decides validity), or null. */
  readonly eventLoopDelay: EventLoopDelaySummary | null
}

/** Decodes into a JS histogram with 64-bit counts: merged totals outgrow 32-bit buckets. */
export function decodeHistogram(base64: string): Histogram {
  const histogram = decodeFromCompressedBase64(base64, 64, false)
  histogram.autoResize = true
  return histogram
}

export function emptyHistogram(
  settings: HistogramSettings = DEFAULT_HISTOGRAM_SETTINGS,
): Histogram {
  const histogram = build({
    lowestDiscernibleValue: settings.lowestUs,
    highestTrackableValue: settings.highestUs,
    numberOfSignificantValueDigits: settings.significantDigits,
    bitBucketSize: 64,
    autoResize: true,
  })
  return histogram
}

function addCounters(into: MetricCounters, from: Readonly<MetricCounters>): void {
  for (const key of COUNTER_KEYS) into[key] += from[key]
}

/**
 * One source of measurements for one transport, histograms decoded: a worker's report
 * (`decodeWorkerReport`), or one transport of a result directory written by another harness host
 * (`tickstorm merge`). `mergeMetricParts` adds any number of them.
 */
export interface MetricsPart {
  readonly transport: TransportName
  readonly intervalMs: number
  readonly histogram: HistogramSettings
  readonly startMs: number
  readonly latency: Histogram
  readonly connectTime: Histogram
  readonly recovery: Histogram
  readonly counters: Readonly<MetricCounters>
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly intervals: readonly {
    readonly startMs: number
    readonly endMs: number
    readonly latency: Histogram
    readonly counters: Readonly<MetricCounters>
    readonly connections: number
  }[]
  readonly connections: number
  readonly eventLoopDelay: EventLoopDelaySummary | null
}

/** A worker's report with its histograms decoded (refuses a report of another version). */
export function decodeWorkerReport(report: WorkerReport): MetricsPart {
  if (report.version !== WORKER_REPORT_VERSION) {
    throw new RangeError(`worker report version ${String(report.version)} is not supported`)
  }
  return {
    ...report,
    latency: decodeHistogram(report.latency),
    connectTime: decodeHistogram(report.connectTime),
    recovery: decodeHistogram(report.recovery),
    intervals: report.intervals.map((interval) => ({
      ...interval,
      latency: decodeHistogram(interval.latency),
    })),
  }
}

/** Merges the reports of several workers for one transport (see `mergeMetricParts`). */
export function mergeWorkerReports(reports: readonly WorkerReport[]): MergedMetrics {
  if (reports.length === 0) throw new RangeError('mergeWorkerReports needs at least one report')
  return mergeMetricParts(reports.map(decodeWorkerReport))
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
  const counters = emptyCounters()
  const errorsByKind: Record<string, number> = {}
  const slots = new Map<
    number,
    {
      startMs: number
      endMs: number
      latency: Histogram
      counters: MetricCounters
      /** Connections is a gauge: per part the highest reading in the cell, summed over parts. */
      connectionsByPart: Map<number, number>
      workers: number
    }
  >()
  let connections = 0
  let startMs = Number.POSITIVE_INFINITY
  let eventLoopDelay: EventLoopDelaySummary | null = null

  for (const [partIndex, part] of parts.entries()) {
    latency.add(part.latency)
    connectTime.add(part.connectTime)
    recovery.add(part.recovery)
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
    counters,
    errorsByKind,
    intervals,
    connections,
    eventLoopDelay,
  }
}

// ---------------------------------------------------------------------------------------------
// Sequence tracking

export type SequenceObservation = 'ok' | 'gap' | 'duplicate' | 'out-of-order'

export interface SequenceTracker {
  /**
   * Classifies the next sequence number of one contiguous sequence (the per-symbol `q` on a
   * filtered stream, or the global `id` on an unfiltered one: global ids skip on a filtered
   * stream, so a gap in them means nothing there).
   * - `ok`: the next one, or the first one seen (after creation or `reset`);
   * - `gap`: ahead of the next one; `gapSize` events were skipped;
   * - `out-of-order`: behind the highest, and never seen: a late fill of an earlier gap;
   * - `duplicate`: seen before, or too far behind to know (older than the window): a replay
   *   seam that resent events is far likelier than an event delayed by `windowSize` others.
   */
  observe(seq: number): SequenceObservation
  /** Events skipped by the last `gap` observation (0 otherwise). */
  readonly gapSize: number
  /** Highest sequence seen, or -1. */
  readonly highest: number
  /** Forget the history: after a snapshot (`reset: true`) the next sequence starts afresh. */
  reset(): void
}

/**
 * A sliding bitmap of the last `windowSize` sequence numbers below the highest (1 = seen), so
 * late arrivals can be told from duplicates without a set per subscriber. 1024 bits = 128 bytes.
 */
export function createSequenceTracker(
  options: { readonly windowSize?: number } = {},
): SequenceTracker {
  return new BitmapSequenceTracker(Math.max(32, Math.ceil((options.windowSize ?? 1024) / 32) * 32))
}

/**
 * A class, not closures: the harness keeps one per symbol per subscriber (200k at 10k × 20), and
 * it is touched on every event. Closures cost each tracker a context and a function object per
 * method, and the event path a chase through them; this is one object and its bitmap.
 */
class BitmapSequenceTracker implements SequenceTracker {
  highest = -1
  gapSize = 0
  private readonly windowSize: number
  private readonly seen: Uint32Array

  constructor(windowSize: number) {
    this.windowSize = windowSize
    this.seen = new Uint32Array(windowSize / 32)
  }

  // Bit for seq s lives at s mod windowSize; valid for highest − windowSize < s ≤ highest.
  private isSeen(seq: number): boolean {
    const bit = seq % this.windowSize
    return ((this.seen[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0
  }

  private mark(seq: number): void {
    const bit = seq % this.windowSize
    this.seen[bit >>> 5] = (this.seen[bit >>> 5] ?? 0) | (1 << (bit & 31))
  }

  private clear(seq: number): void {
    const bit = seq % this.windowSize
    this.seen[bit >>> 5] = (this.seen[bit >>> 5] ?? 0) & ~(1 << (bit & 31))
  }

  observe(seq: number): SequenceObservation {
    this.gapSize = 0
    const highest = this.highest
    if (highest < 0) {
      this.seen.fill(0)
      this.highest = seq
      this.mark(seq)
      return 'ok'
    }
    if (seq > highest) {
      const skipped = seq - highest - 1
      // Clear the bits of the skipped numbers (at most a window's worth) before moving on.
      if (skipped >= this.windowSize) this.seen.fill(0)
      else for (let s = highest + 1; s < seq; s++) this.clear(s)
      this.highest = seq
      this.mark(seq)
      if (skipped === 0) return 'ok'
      this.gapSize = skipped
      return 'gap'
    }
    if (seq <= highest - this.windowSize) return 'duplicate'
    if (this.isSeen(seq)) return 'duplicate'
    this.mark(seq)
    return 'out-of-order'
  }

  reset(): void {
    this.highest = -1
    this.gapSize = 0
  }
}

// ---------------------------------------------------------------------------------------------
// Process cost: /proc sampling and event-loop delay

/** Fields of /proc/<pid>/stat we need: CPU time in clock ticks (utime + stime). */
export function parseProcStatCpuTicks(text: string): number {
  // The comm field (2) is in parentheses and may contain spaces and ')' itself; fields after
  // the LAST ')' are space-separated, starting at field 3 (state). utime is 14, stime is 15.
  const end = text.lastIndexOf(')')
  if (end < 0) throw new RangeError('not a /proc/<pid>/stat line')
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/)
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new RangeError('not a /proc/<pid>/stat line')
  }
  return utime + stime
}

/** VmRSS of /proc/<pid>/status, in bytes (the file says kB, meaning KiB). */
export function parseProcStatusRssBytes(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text)
  if (match === null) throw new RangeError('no VmRSS in /proc/<pid>/status')
  return Number(match[1]) * 1024
}

export interface ProcessSample {
  readonly atMs: number
  /** CPU used since the previous sample, as % of one core (200 = two cores busy). */
  readonly cpuPercent: number
  readonly rssBytes: number
}

export interface ProcessSummary {
  readonly samples: number
  readonly cpuPercentAvg: number
  readonly cpuPercentMax: number
  readonly rssBytesMax: number
  readonly rssBytesLast: number
  /** CPU time used between the first and the last sample, in µs. */
  readonly cpuUs: number
}

export interface ProcessSampler {
  readonly pid: number
  /** Reads /proc once; the first call only sets the baseline and returns null. */
  sample(nowMs: number): ProcessSample | null
  /** Samples every `intervalMs` on an unref'd timer until `stop`. */
  start(intervalMs?: number): void
  stop(): void
  readonly samples: readonly ProcessSample[]
  /** The CPU % samples since `fromMs` (to drop the warm-up). */
  summary(fromMs?: number): ProcessSummary
}

export interface ProcessSamplerOptions {
  /** USER_HZ, the unit of /proc CPU times: 100 on every mainstream Linux build (`getconf CLK_TCK`). */
  readonly clockTicksPerSec?: number
  /** Injected for tests; reads a /proc file as text. */
  readonly readText?: (path: string) => string
  /** Clock for `start`; defaults to Date.now. */
  readonly nowMs?: () => number
}

/**
 * Samples a process's CPU and RSS from /proc once a second: cheap (two small reads), and it works
 * for any pid we may read (our embedded server child, or the harness itself), which
 * `process.cpuUsage()` cannot.
 */
export function createProcessSampler(
  pid: number,
  options: ProcessSamplerOptions = {},
): ProcessSampler {
  const ticksPerSec = options.clockTicksPerSec ?? 100
  const readText = options.readText ?? ((path: string) => readFileSync(path, 'utf8'))
  const clock = options.nowMs ?? Date.now
  const samples: ProcessSample[] = []
  let last: { atMs: number; ticks: number } | null = null
  let firstTicks = 0
  let timer: NodeJS.Timeout | undefined

  function sample(nowMs: number): ProcessSample | null {
    const ticks = parseProcStatCpuTicks(readText(`/proc/${pid}/stat`))
    const rssBytes = parseProcStatusRssBytes(readText(`/proc/${pid}/status`))
    if (last === null) {
      last = { atMs: nowMs, ticks }
      firstTicks = ticks
      return null
    }
    const elapsedSec = (nowMs - last.atMs) / 1000
    const cpuPercent = elapsedSec > 0 ? ((ticks - last.ticks) / ticksPerSec / elapsedSec) * 100 : 0
    last = { atMs: nowMs, ticks }
    const result: ProcessSample = Object.freeze({ atMs: nowMs, cpuPercent, rssBytes })
    samples.push(result)
    return result
  }

  return {
    pid,
    sample,
    start(intervalMs = 1000): void {
      if (timer !== undefined) return
      sample(clock())
      timer = setInterval(() => {
        try {
          sample(clock())
        } catch {
          // The process has exited: its last samples stand.
          clearInterval(timer)
        }
      }, intervalMs)
      timer.unref()
    },
    stop(): void {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    get samples() {
      return samples
    },
    summary(fromMs = Number.NEGATIVE_INFINITY): ProcessSummary {
      const picked = samples.filter((entry) => entry.atMs >= fromMs)
      const cpu = picked.map((entry) => entry.cpuPercent)
      const rss = picked.map((entry) => entry.rssBytes)
      return {
        samples: picked.length,
        cpuPercentAvg: cpu.length === 0 ? 0 : cpu.reduce((a, b) => a + b, 0) / cpu.length,
        cpuPercentMax: cpu.length === 0 ? 0 : Math.max(...cpu),
        rssBytesMax: rss.length === 0 ? 0 : Math.max(...rss),
        rssBytesLast: rss.at(-1) ?? 0,
        cpuUs: last === null ? 0 : ((last.ticks - firstTicks) / ticksPerSec) * 1e6,
      }
    },
  }
}

export interface EventLoopMonitor {
  /** The delay distribution since start (or the last `reset`). */
  summary(): EventLoopDelaySummary
  reset(): void
  stop(): void
}

/**
 * The jHiccup idea: a timer that should fire every `resolutionMs` measures how late it fires, so
 * a saturated harness shows as delay. Each worker thread monitors its own loop.
 */
export function createEventLoopMonitor(
  options: { readonly resolutionMs?: number } = {},
): EventLoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 })
  histogram.enable()
  const nsToUs = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1000) : 0)
  return {
    summary(): EventLoopDelaySummary {
      if (histogram.count === 0) return { p50Us: 0, p99Us: 0, maxUs: 0, meanUs: 0 }
      return {
        p50Us: nsToUs(histogram.percentile(50)),
        p99Us: nsToUs(histogram.percentile(99)),
        maxUs: nsToUs(histogram.max),
        meanUs: nsToUs(histogram.mean),
      }
    },
    reset(): void {
      histogram.reset()
    },
    stop(): void {
      histogram.disable()
    },
  }
}
