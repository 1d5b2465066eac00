/**
 * What a run's parts share: the caller's options, where the run is (so an interruption can say
 * where it came), and the abort signal as two questions: has it fired, and wait unless it does.
 */

import type { HarnessHealth, LiveProgress, LiveWindow } from '../report/live.js'
import type { TransportName } from '../report/measurements.js'
import type { RunPhase, Segment } from '../report/result-schema.js'

export type { HarnessHealth, LiveWindow }

export interface RunOptions {
  /** Path of `bin/tickstorm.js`, to start the embedded server. */
  readonly serverBin: string
  /** The scenario file's path, recorded in the result. */
  readonly scenarioFile: string
  readonly commit: string
  /**
   * The result's runId, when the caller must know it before the run ends (the CLI labels its
   * live outputs and its dashboard with it); default a fresh UUID.
   */
  readonly runId?: string
  /** Worker threads; 0 runs subscribers on this thread (tests, tiny runs). Default: the scenario's. */
  readonly workers?: number
  readonly onProgress?: (progress: RunProgress) => void
  /** Reconnection delay of the subscribers and of the embedded server's `retry:`. */
  readonly retryMs?: number
  /**
   * Called with each target's URL once it is up, before any subscriber (benchmarks add load), and
   * the embedded server's pid (null for a URL target).
   */
  readonly onTarget?: (
    url: string,
    target: { readonly transport: TransportName; readonly pid: number | null },
  ) => void
  /**
   * Aborting it (the CLI does on SIGINT/SIGTERM, with the signal's name as the reason) stops the
   * run where it is: the subscribers and the embedded server are stopped, and what was measured
   * so far comes back marked `interrupted`; the run does not pass. See runScenario.
   */
  readonly signal?: AbortSignal
  /**
   * Run only this host's share of the workload (`--segment i/n`), for several harness hosts
   * against one URL target; their results combine with `tickstorm merge`.
   */
  readonly segment?: Segment
}

/** A progress report: what the live readers take (LiveProgress), and more. */
export interface RunProgress extends LiveProgress {
  readonly p99Us: number
  /**
   * On the report that finds a waited ramp complete: seconds from handing its subscribers to the
   * pools to every one of them connected (polled every 25 ms; the harness's own start-up is not
   * in it). Null on every other report.
   */
  readonly allConnectedSec: number | null
}

/**
 * Where a run is, kept up to date as it goes so an interruption can say where it came:
 * `finishing` is after a transport's measurement is complete (its target being stopped).
 */
export interface Stage {
  transport: TransportName | null
  phase: RunPhase | 'finishing'
}

/** What the transport runs share: the options, the abort signal, the stage. */
export interface RunContext {
  readonly options: RunOptions
  readonly stage: Stage
  /** True once the run's signal fired. */
  readonly aborted: () => boolean
  /** Waits `ms` (Infinity: until aborted), or less when the run is aborted meanwhile. */
  readonly pause: (ms: number) => Promise<undefined>
}

export function createRunContext(options: RunOptions): RunContext {
  const signal = options.signal
  return {
    options,
    stage: { transport: null, phase: 'starting' },
    aborted: () => signal?.aborted === true,
    pause: (ms) => pause(ms, signal),
  }
}

/** Waits `ms` (Infinity: until aborted); resolves early, with undefined, when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(undefined)
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve(undefined)
    }
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined
    signal?.addEventListener('abort', done, { once: true })
  })
}
