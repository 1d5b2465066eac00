/**
 * One executor per way of putting load on a target (k6's model): each decides who is connected
 * when, and when the measurement window opens and closes; the runner gives it the same context
 * whatever it is. Registered by name in registry.ts.
 */

import type { CapacityResult, Segment } from '../../report/result-schema.js'
import type { Thresholds } from '../../report/thresholds.js'
import type { StreamTransport } from '../load-pool.js'
import type { Measured, MeasureWindow } from '../measure.js'
import type { Stage } from '../run-context.js'
import type { Scenario } from '../scenario.js'
import type { ExecutorName } from '../scenario-schema.js'
import type { Session } from '../session.js'

/** What an executor gets for one transport's run. */
export interface ExecutorContext {
  readonly scenario: Scenario
  readonly transport: StreamTransport
  /** This host's share of the workload (`--segment`), or undefined for all of it. */
  readonly segment: Segment | undefined
  /** The subscribers across the worker pools: add, remove, arrive, leave; progress reports. */
  readonly session: Session
  /** Watch-lists by subscriber index, for at least `peakSubscribers` subscribers. */
  readonly lists: readonly (readonly string[] | null)[]
  /** Where the run is; the executor moves it through ramp, warm-up and measuring. */
  readonly stage: Stage
  /** True once the run's abort signal fired: stop where you are. */
  readonly aborted: () => boolean
  /** Waits `ms`, or less when the run is aborted meanwhile. */
  readonly pause: (ms: number) => Promise<undefined>
  /** The scenario's thresholds for this host's share. */
  readonly thresholds: Readonly<Thresholds>
  /** Opens a measurement window: resets the pools, runs `during`, builds the transport's result. */
  measure(window: MeasureWindow): Promise<Measured>
}

/** What an executor measured; a capacity search adds its curve. */
export interface ExecutorRun extends Measured {
  readonly capacity?: CapacityResult
}

export interface Executor {
  readonly name: ExecutorName
  /** The most subscribers at once (this host's share with a segment): watch-lists are picked for as many. */
  peakSubscribers(scenario: Scenario, segment?: Segment): number
  /** Why the workload cannot be shared among harness hosts (`--segment`), or null if it can. */
  readonly unsplittable: string | null
  /** Runs the load and measures it; null when the run was aborted before its measurement began. */
  run(context: ExecutorContext): Promise<ExecutorRun | null>
}
