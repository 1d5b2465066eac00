/**
 * One measurement window and what comes of it: the pools forget the warm-up, the harness samples
 * its own CPU, the executor runs the window's load, the workers' reports are merged exactly, the
 * harness judges whether it (not the server) was the bottleneck, and the transport's result is
 * built and judged against the scenario's thresholds.
 */

import type { MergedMetrics } from '../report/measurements.js'
import type { TransportResult } from '../report/result-schema.js'
import { evaluateThresholds, type Thresholds } from '../report/thresholds.js'
import { buildTransportResult } from '../report/transport-result.js'
import { scheduleFaults } from './faults.js'
import type { PoolHandle } from './pool-handle.js'
import type { HarnessCpu, ProcessSampler } from './process-sampler.js'
import { startHarnessSampler } from './process-sampler.js'
import type { Scenario } from './scenario.js'
import type { Session } from './session.js'
import type { Target } from './target.js'
import { mergeWorkerReports } from './transport-metrics.js'
import { judgeValidity } from './validity.js'

/** A transport's result and the merged measurements it was built from (for the HDR logs). */
export interface Measured {
  readonly result: TransportResult
  readonly merged: MergedMetrics
}

export interface MeasureWindow {
  /** The subscriber count the window asked for (the result's `subscribers.asked`). */
  readonly subscribersAsked: number
  readonly thresholds: Readonly<Thresholds>
  /** Fire the scenario's faults at their times in this window. */
  readonly faults: boolean
  /** The window's load: resolves when the window is over (or the run was aborted). */
  readonly during: () => Promise<void>
}

/** The embedded server's sampler and its RSS before any subscriber, or null for a URL target. */
export interface ServerWatch {
  readonly sampler: ProcessSampler
  readonly rssBytesBaseline: number | null
}

/** What a measurement needs of the run: its session, pools and target. */
export interface MeasureScope {
  readonly scenario: Scenario
  readonly session: Session
  readonly pools: readonly PoolHandle[]
  readonly target: Target
  readonly serverWatch: ServerWatch | null
  /** Aborted: the run is being stopped (the tail's wait gives up). */
  readonly aborted: () => boolean
}

/**
 * How long the end of a window waits for events sent before it to arrive, before counting what
 * has not as lost: far beyond any latency a passing run has, short beside a window.
 */
const TAIL_WAIT_MS = 3000
const TAIL_POLL_MS = 100

/** Resets the pools, runs the window, and builds the transport's result from what it measured. */
export async function measureWindow(scope: MeasureScope, window: MeasureWindow): Promise<Measured> {
  const { target } = scope
  scope.session.reset((await target.heads()) ?? undefined)
  target.publisher?.reset()
  const measureStartMs = Date.now()
  const harness = startHarnessSampler()
  const faults = window.faults ? scheduleFaults(scope.scenario, scope.pools, target.server) : null
  try {
    await window.during()
  } finally {
    // A fault still due must not fire at a stopped (or restarting) server.
    faults?.cancel()
  }
  // The window ends here; the wait for its last events below is not part of it.
  const measureEndMs = Date.now()
  const harnessCpu = harness.stop()
  const tail = await countTail(scope)
  const merged = mergeWorkerReports(await scope.session.reports())
  const result = measuredResult(merged, {
    subscribersAsked: window.subscribersAsked,
    measureStartMs,
    measureEndMs,
    harness: harnessCpu,
    serverWatch: scope.serverWatch,
    thresholds: window.thresholds,
  })
  if (faults !== null && faults.applied.length > 0) result.faults = faults.applied
  result.lossCountedAgainst = tail === null ? 'gaps' : 'sent'
  if (tail !== null) result.tailLost = tail
  const publisher = target.publisher?.stats()
  if (publisher !== undefined) {
    result.publisher = {
      published: publisher.published,
      failed: publisher.failed,
      errorsByKind: publisher.errors,
      lagUs: publisher.lagUs,
      lateUs: publisher.lateUs,
      behind: publisher.behind,
    }
    // Latency is receipt − scheduled: a publisher behind its schedule put its own delay in it.
    if (publisher.behind) {
      result.validity = {
        valid: false,
        invalidReasons: [
          ...result.validity.invalidReasons,
          `the harness's publisher fell behind the market's schedule: ${publisher.behindReason ?? 'behind'}`,
        ],
      }
    }
  }
  return { result, merged }
}

/**
 * Loss counted against what was sent, not only from gaps in what arrived: the target's heads
 * (each symbol's last sequence sent) are read at the window's end, the subscribers get a moment
 * to receive them, and whatever of them a subscriber still lacks (a tail after its last event,
 * or everything, for a subscriber that received nothing while its symbols traded) is lost.
 * Null when the target cannot say what it sent (a generic server making its own events).
 */
async function countTail(scope: MeasureScope): Promise<number | null> {
  const heads = await scope.target.heads()
  if (heads === null) return null
  const deadline = Date.now() + TAIL_WAIT_MS
  const missing = async (record: boolean) =>
    (await Promise.all(scope.pools.map((pool) => pool.tail(heads, record)))).reduce(
      (sum, n) => sum + n,
      0,
    )
  while (Date.now() < deadline && !scope.aborted() && (await missing(false)) > 0) {
    await new Promise((resolve) => setTimeout(resolve, TAIL_POLL_MS))
  }
  return missing(true)
}

/**
 * The transport's result from merged measurements: the harness's validity judged on its own CPU
 * and event loop, the server's cost from its sampler, the thresholds evaluated.
 */
export function measuredResult(
  merged: MergedMetrics,
  measurement: {
    readonly subscribersAsked: number
    readonly measureStartMs: number
    /** The window's end (default: now). */
    readonly measureEndMs?: number
    readonly harness: HarnessCpu
    readonly serverWatch: ServerWatch | null
    readonly thresholds: Readonly<Thresholds>
  },
): TransportResult {
  const { harness, serverWatch, measureStartMs } = measurement
  const measureEndMs = measurement.measureEndMs ?? Date.now()
  const c = merged.counters
  const result = buildTransportResult(merged, {
    subscribersAsked: measurement.subscribersAsked,
    measureStartMs,
    measuredSec: (measureEndMs - measureStartMs) / 1000,
    server:
      serverWatch === null
        ? null
        : {
            ...serverWatch.sampler.summary(measureStartMs),
            rssBytesBaseline: serverWatch.rssBytesBaseline,
            samples: serverWatch.sampler.samples.filter(
              (sample) =>
                sample.atMs >= measureStartMs &&
                sample.atMs <= (measurement.measureEndMs ?? Number.POSITIVE_INFINITY),
            ),
          },
    harness,
    validity: judgeValidity({
      harnessCpuPercentSamples: harness.cpuPercentSamples,
      harnessCores: harness.cores,
      eventLoopDelay: merged.eventLoopDelay,
      deliveries: c.deliveries,
      negativeLatencies: c.negativeLatencies,
      clampedLatencies: c.clampedLatencies,
    }),
  })
  // Judged here rather than by buildTransportResult, because thresholds with `over:` read every
  // window of the measurement from its intervals (an interval begun after the window's end, in
  // the wait for its last events, is not part of it).
  result.thresholds = evaluateThresholds(measurement.thresholds, result, {
    intervals: merged.intervals.filter((interval) => interval.startMs < measureEndMs),
    startMs: measureStartMs,
  })
  return result
}
