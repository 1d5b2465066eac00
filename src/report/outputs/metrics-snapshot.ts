/**
 * The figures every output sends, taken once from a live report or from the final result, so the
 * Prometheus and OpenTelemetry outputs send the same numbers under their own names.
 *
 * Counters and histograms are cumulative since `startMs` (the live window's start: it restarts
 * when the measurement window begins, which both protocols read as a counter reset). Times are in
 * seconds, as both ecosystems expect.
 */

import type { HarnessHealth, LiveWindow } from '../live.js'
import { decodeHistogram, type TransportName } from '../measurements.js'
import type { RunResult } from '../result-schema.js'
import { type ExponentialBuckets, exponentialBucketsOf } from './native-histogram.js'

/** µs → s. */
const US = 1e-6

export interface TransportFigures {
  readonly transport: TransportName
  /** Wall ms the cumulative figures count from. */
  readonly startMs: number
  /** 1 once the measurement window began, 0 in the ramp and warm-up. */
  readonly measuring: boolean
  readonly latency: ExponentialBuckets
  readonly connectTime: ExponentialBuckets
  readonly recovery: ExponentialBuckets
  readonly deliveries: number
  readonly errors: number
  readonly reconnects: number
  readonly connects: number
  /** Events missing that never came: max(0, gaps − outOfOrder), as the result counts it. */
  readonly lost: number
  readonly bytes: number
  readonly connectedSubscribers: number
  /** The harness's event-loop delay p99, s; null when the report had none. */
  readonly eventLoopDelayP99Sec: number | null
}

export interface MetricsSnapshot {
  /** Wall ms the figures were read. */
  readonly timeMs: number
  readonly transports: readonly TransportFigures[]
}

/**
 * What a live progress report carries, as far as the outputs read it: the harness's RunProgress
 * is one (its `live` and `harness` are the LiveWindow and HarnessHealth of ../live.ts).
 */
export interface LiveProgressView {
  readonly transport: TransportName
  readonly connected: number
  readonly live?: Pick<
    LiveWindow,
    'measuring' | 'startMs' | 'latencyUs' | 'connectTimeUs' | 'recoveryUs' | 'counters'
  >
  readonly harness?: Pick<HarnessHealth, 'eventLoopDelayP99Us'>
}

/**
 * A live report's figures, or null when it has no live window (the ramp's quarter-second
 * reports, the http transport). The histograms are read into buckets at once.
 */
export function figuresOfProgress(progress: LiveProgressView): TransportFigures | null {
  const live = progress.live
  if (live === undefined) return null
  const counters = live.counters
  return Object.freeze({
    transport: progress.transport,
    startMs: live.startMs,
    measuring: live.measuring,
    latency: exponentialBucketsOf(live.latencyUs, US),
    connectTime: exponentialBucketsOf(live.connectTimeUs, US),
    recovery: exponentialBucketsOf(live.recoveryUs, US),
    deliveries: counters.deliveries,
    errors: counters.errors,
    reconnects: counters.reconnects,
    connects: counters.connects,
    lost: Math.max(0, counters.gaps - counters.outOfOrder),
    bytes: counters.bytes,
    connectedSubscribers: progress.connected,
    eventLoopDelayP99Sec:
      progress.harness === undefined ? null : progress.harness.eventLoopDelayP99Us * US,
  })
}

/**
 * The final result's figures for each transport that has its histograms (a crashed transport has
 * none and is left out): exactly what result.json says, over the measurement window.
 */
export function snapshotOfResult(result: RunResult, timeMs: number): MetricsSnapshot {
  const transports: TransportFigures[] = []
  const measuredStartMs = Date.parse(result.startedAt)
  for (const transport of result.transports) {
    const histograms = transport.histograms
    if (histograms === undefined || transport.failure !== undefined) continue
    transports.push(
      Object.freeze({
        transport: transport.transport,
        // The result keeps no per-transport wall start; the run's start is the honest earliest.
        startMs: measuredStartMs,
        measuring: true,
        latency: bucketsOfEncoded(histograms.latencyUs),
        connectTime: bucketsOfEncoded(histograms.connectTimeUs),
        recovery: bucketsOfEncoded(histograms.recoveryUs),
        deliveries: transport.deliveries,
        errors: transport.errors,
        reconnects: transport.reconnects,
        connects: transport.connects,
        lost: transport.lost,
        bytes: transport.bytes ?? 0,
        connectedSubscribers: transport.subscribers.connectedAtEnd,
        eventLoopDelayP99Sec: transport.harness.eventLoopDelayP99Us * US,
      }),
    )
  }
  return Object.freeze({ timeMs, transports: Object.freeze(transports) })
}

function bucketsOfEncoded(base64: string): ExponentialBuckets {
  return exponentialBucketsOf(decodeHistogram(base64), US)
}
