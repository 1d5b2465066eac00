/**
 * The live window of a run, as its progress reports carry it once a second: what the subscriber
 * pools measured so far, merged, and the harness's own health. The vocabulary between the
 * harness that measures it and what reads it live (thresholds with abortOnFail, the dashboard,
 * the metrics outputs).
 */

import type { Histogram } from 'hdr-histogram-js'
import type { MetricCounters, TransportName } from './measurements.js'

/**
 * The live window: what the pools measured since the window began, merged across them, and the
 * last span (about a second). Reports with it come once a second (the session's tick, and at
 * most once a second during a waited ramp). It resets when the measurement window begins
 * (session.reset): before that it covers the ramp and the warm-up from the session's start.
 */
export interface LiveWindow {
  /** True once the measurement window began (false in the ramp and warm-up). */
  readonly measuring: boolean
  /** Wall ms when the current window began (the session's start before it). */
  readonly startMs: number
  /** Seconds since startMs. */
  readonly sec: number
  /** Since startMs, merged across pools (hdr-histogram-js Histograms; read, never mutate). */
  readonly latencyUs: Histogram
  /**
   * Connect times since the session began, across the window's start: as in the result, the
   * ramp's connects count (they happen before the window); the `connects` counter restarts.
   */
  readonly connectTimeUs: Histogram
  /** Drop → first resumed event, since startMs. */
  readonly recoveryUs: Histogram
  readonly counters: Readonly<MetricCounters>
  /** Since the previous report with a live window (about one second). */
  readonly lastLatencyUs: Histogram
  readonly lastCounters: Readonly<MetricCounters>
  /** The span the `last*` cover, seconds. */
  readonly lastSec: number
}

/** The harness's own health over the last span (about a second). */
export interface HarnessHealth {
  /** Worst event-loop delay p99 of the harness threads (the coordinator and each pool's), µs. */
  readonly eventLoopDelayP99Us: number
  /** CPU of the whole harness process (all threads), % of one core (200 = two cores busy). */
  readonly cpuPercent: number
}

/**
 * A run's progress report as its live readers take it (the dashboard, the outputs): where a
 * transport's run is, how many are connected, and the live window once a second. The harness's
 * RunProgress is this and more.
 */
export interface LiveProgress {
  readonly transport: TransportName
  readonly elapsedSec: number
  readonly totalSec: number
  readonly warmingUp: boolean
  readonly connected: number
  readonly subscribers: number
  readonly deliveriesPerSec: number
  readonly errors: number
  /** Absent on a report without one (the ramp's in-between reports, the http transport). */
  readonly live?: LiveWindow
  readonly harness?: HarnessHealth
}
