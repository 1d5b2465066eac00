/**
 * One measurement window and what comes of it: the pools forget the warm-up, the harness samples
 * its own CPU, the executor runs the window's load, the workers' reports are merged exactly, the
 * harness judges whether it (not the server) was the bottleneck, and the transport's result is
 * built and judged against the scenario's thresholds.
 */

import type { MergedMetrics } from '../report/measurements.js'
import type { TransportResult } from '../report/result-schema.js'
import type { Thresholds } from '../report/thresholds.js'
import { buildTransportResult } from '../report/transport-result.js'
import { scheduleFaults } from './faults.js'
import type { PoolHandle } from './pool-handle.js'
import type { HarnessCpu, ProcessSampler } from './process-sampler.js'
import { startHarnessSampler } from './process-sampler.js'
import type { Scenario } from './scenario.js'
import type { Session } from './session.js'
import type { EmbeddedServerHandle } from './target.js'
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
  readonly server: EmbeddedServerHandle | null
  readonly serverWatch: ServerWatch | null
}

/** Resets the pools, runs the window, and builds the transport's result from what it measured. */
export async function measureWindow(scope: MeasureScope, window: MeasureWindow): Promise<Measured> {
  scope.session.reset()
  const measureStartMs = Date.now()
  const harness = startHarnessSampler()
  const faults = window.faults ? scheduleFaults(scope.scenario, scope.pools, scope.server) : null
  try {
    await window.during()
  } finally {
    // A fault still due must not fire at a stopped (or restarting) server.
    faults?.cancel()
  }
  const merged = mergeWorkerReports(await scope.session.reports())
  const result = measuredResult(merged, {
    subscribersAsked: window.subscribersAsked,
    measureStartMs,
    harness: harness.stop(),
    serverWatch: scope.serverWatch,
    thresholds: window.thresholds,
  })
  if (faults !== null && faults.applied.length > 0) result.faults = faults.applied
  return { result, merged }
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
    readonly harness: HarnessCpu
    readonly serverWatch: ServerWatch | null
    readonly thresholds: Readonly<Thresholds>
  },
): TransportResult {
  const { harness, serverWatch, measureStartMs } = measurement
  const c = merged.counters
  return buildTransportResult(merged, {
    subscribersAsked: measurement.subscribersAsked,
    measureStartMs,
    measuredSec: (Date.now() - measureStartMs) / 1000,
    server:
      serverWatch === null
        ? null
        : {
            ...serverWatch.sampler.summary(measureStartMs),
            rssBytesBaseline: serverWatch.rssBytesBaseline,
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
    thresholds: measurement.thresholds,
  })
}
