/**
 * What the live dashboard shows, one frame per transport per second, made from a run's progress
 * reports. The page (src/web/dashboard/frame.ts) reads the same shape from the event stream: it
 * is a bundle of its own and imports nothing from here, so it restates the type, as the ticker
 * page restates the stream's events (src/web/stream-event.ts); test/report/dashboard.test.ts
 * checks with tsc that the two stay the same.
 */

import type { Histogram } from 'hdr-histogram-js'
import type { LiveProgress, LiveWindow } from '../live.js'
import type { TransportName } from '../measurements.js'

/** Latency percentiles in milliseconds (the histograms hold µs). */
export interface LatencyMs {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

export interface DashboardFrame {
  readonly transport: TransportName
  /** Wall time of the report, epoch ms. */
  readonly t: number
  /** Seconds into this transport's run, and its planned total. */
  readonly elapsedSec: number
  readonly totalSec: number
  /** True once the measurement window began (false in the ramp and the warm-up). */
  readonly measuring: boolean
  readonly connected: number
  readonly subscribers: number
  /** Over the last span (about a second). */
  readonly deliveriesPerSec: number
  /** The last span's latency; null when it had no delivery or the report no live window. */
  readonly last: LatencyMs | null
  /** Since the window began (the session's start before the measurement). */
  readonly cumulative: LatencyMs | null
  /** In the last span. */
  readonly errors: number
  readonly reconnects: number
  readonly gaps: number
  /** Since the window began. */
  readonly deliveriesTotal: number
  readonly errorsTotal: number
  readonly reconnectsTotal: number
  /** The harness's own health over the last span; null when the report had none. */
  readonly harness: { readonly eventLoopP99Ms: number; readonly cpuPercent: number } | null
}

/** A progress report as the dashboard reads it (the harness's RunProgress is one). */
export type DashboardSample = LiveProgress

/** Reports without a live window (the http transport) are framed at most this often. */
const BARE_FRAME_MS = 1000
/**
 * A transport's first live window comes about a second after its start (the ramp's reports in
 * between have none): only one that has had none for longer frames its bare reports.
 */
const BARE_GRACE_MS = 2000

/**
 * Turns progress reports into frames: every report with a live window (once a second), and for a
 * transport that has had none for BARE_GRACE_MS, a bare frame at most once a second. The ramp's
 * quarter-second reports in between are left out: points a quarter second apart would make the
 * per-second charts jagged for nothing.
 */
export function createFramer(): (sample: DashboardSample, nowMs: number) => DashboardFrame | null {
  const withLive = new Set<TransportName>()
  const firstMs = new Map<TransportName, number>()
  const lastBareMs = new Map<TransportName, number>()
  return (sample, nowMs) => {
    if (!firstMs.has(sample.transport)) firstMs.set(sample.transport, nowMs)
    if (sample.live !== undefined) {
      withLive.add(sample.transport)
      return frameOf(sample, sample.live, nowMs)
    }
    if (withLive.has(sample.transport)) return null
    if (nowMs - firstMs.get(sample.transport)! < BARE_GRACE_MS) return null
    if (nowMs - (lastBareMs.get(sample.transport) ?? -Infinity) < BARE_FRAME_MS) return null
    lastBareMs.set(sample.transport, nowMs)
    return frameOf(sample, undefined, nowMs)
  }
}

function frameOf(
  sample: DashboardSample,
  live: LiveWindow | undefined,
  nowMs: number,
): DashboardFrame {
  const last = live?.lastCounters
  return {
    transport: sample.transport,
    t: nowMs,
    elapsedSec: round(sample.elapsedSec, 3),
    totalSec: round(sample.totalSec, 3),
    measuring: live?.measuring ?? !sample.warmingUp,
    connected: sample.connected,
    subscribers: sample.subscribers,
    deliveriesPerSec:
      live === undefined
        ? Math.round(sample.deliveriesPerSec)
        : live.lastSec > 0
          ? Math.round(live.lastCounters.deliveries / live.lastSec)
          : 0,
    last: live === undefined ? null : latencyOf(live.lastLatencyUs),
    cumulative: live === undefined ? null : latencyOf(live.latencyUs),
    errors: last?.errors ?? 0,
    reconnects: last?.reconnects ?? 0,
    gaps: last?.gaps ?? 0,
    deliveriesTotal: live?.counters.deliveries ?? 0,
    errorsTotal: live?.counters.errors ?? sample.errors,
    reconnectsTotal: live?.counters.reconnects ?? 0,
    harness:
      sample.harness === undefined
        ? null
        : {
            eventLoopP99Ms: round(sample.harness.eventLoopDelayP99Us / 1000, 3),
            cpuPercent: round(sample.harness.cpuPercent, 1),
          },
  }
}

/** Percentiles of a histogram in ms, to the µs; null when it is empty. */
function latencyOf(histogram: Histogram): LatencyMs | null {
  if (histogram.totalCount === 0) return null
  const ms = (us: number) => round(us / 1000, 3)
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
