/**
 * `--summary-json FILE`: a small, stable digest of a run for CI to read, instead of parsing the
 * full `result.json` (whose shape follows the measurements and changes with them). Its fields
 * change only with `summaryVersion`; the verdict and its reasons are `verdictOf`'s, so the file
 * says what the console's last line says.
 */

import { rename, writeFile } from 'node:fs/promises'
import type { RunResult, TransportResult } from './result-schema.js'
import { verdictOf } from './verdict.js'

/** Bumped when a field is renamed, removed or changes meaning; added fields keep the version. */
export const SUMMARY_VERSION = 1

export interface RunSummary {
  /** The shape of this object: 1. */
  readonly summaryVersion: typeof SUMMARY_VERSION
  /** The run's id, as in result.json (`<utc-stamp>-<scenario>`). */
  readonly runId: string
  /** The scenario's `name`. */
  readonly scenario: string
  /** The target's URL, or `embedded`. */
  readonly target: string
  /** The target's adapter (tickstorm, nchan, pushpin, generic); null in results that predate it. */
  readonly targetKind: string | null
  /** Where the events came from: `server` (the target's own) or `harness`; null when unknown. */
  readonly source: string | null
  /** Every threshold of every transport passed, every run was valid, and nothing interrupted it. */
  readonly passed: boolean
  /** A signal stopped the run before it finished (it then never passes). */
  readonly interrupted: boolean
  /**
   * A threshold with abortOnFail failed and stopped the run: on which transport, which (`latency
   * p(99) < 100ms`), and after how many seconds of its measurement; null when none did.
   */
  readonly abortedBy: {
    readonly transport: string
    readonly threshold: string
    readonly atSec: number
  } | null
  /** `PASSED`, `FAILED` or `INTERRUPTED`. */
  readonly verdict: 'PASSED' | 'FAILED' | 'INTERRUPTED'
  /** Why it did not pass, one line each (as the console's verdict); empty when it passed. */
  readonly reasons: readonly string[]
  readonly transports: readonly TransportSummary[]
}

export interface TransportSummary {
  /** sse, longpoll, ws or http. */
  readonly transport: string
  /** Subscribers the scenario asked for, and the most connected at once. */
  readonly subscribers: { readonly asked: number; readonly connected: number }
  /** Seconds measured (warm-up and ramp excluded). */
  readonly measuredSec: number
  /** Events delivered to subscribers during the measurement. */
  readonly deliveries: number
  readonly deliveriesPerSec: number
  /** Delivery latency (receipt − scheduled time), in ms. */
  readonly latencyMs: {
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly p999: number
    readonly max: number
  }
  /** lost / expected events, 0..1. */
  readonly lossRatio: number
  /** Events that never came. */
  readonly lost: number
  /** errors / (connects + errors), 0..1. */
  readonly errorRate: number
  readonly errors: number
  readonly reconnects: number
  /** p99 time from a dropped connection to its next delivery, in ms. */
  readonly recoveryP99Ms: number
  /** False when the harness, not the target, was measured; `invalidReasons` says why. */
  readonly valid: boolean
  readonly invalidReasons: readonly string[]
  /**
   * Each threshold the scenario set: its metric (`latency`, `latency{transport:ws}`; an old key in
   * results before schema 6), the expression as written, its limit and the measured value in
   * `unit` (ms, ratio, perSec, count; -1: not measured), and for one judged `over:` windows their
   * length and where the worst began (seconds into the measurement; `actual` is that window's).
   * Null fields: not in the result.
   */
  readonly thresholds: readonly {
    readonly name: string
    readonly expression: string | null
    readonly limit: number
    readonly actual: number
    readonly unit: string | null
    readonly overSec: number | null
    readonly worstWindowAtSec: number | null
    readonly passed: boolean
  }[]
  /** The transport's run crashed: why (its measurements are then empty); null when it did not. */
  readonly failure: { readonly message: string; readonly code: string | null } | null
}

export function summaryOf(result: RunResult): RunSummary {
  const verdict = verdictOf(result)
  return {
    summaryVersion: SUMMARY_VERSION,
    runId: result.runId,
    scenario: result.scenario.name,
    target: result.target,
    targetKind: result.targetKind ?? null,
    source: result.source ?? null,
    passed: result.passed,
    interrupted: result.interrupted === true,
    abortedBy: result.abortedBy ?? null,
    verdict: verdict.label,
    reasons: verdict.reasons,
    transports: result.transports.map(transportSummaryOf),
  }
}

function transportSummaryOf(transport: TransportResult): TransportSummary {
  const ms = (us: number): number => us / 1000
  return {
    transport: transport.transport,
    subscribers: {
      asked: transport.subscribers.asked,
      connected: transport.subscribers.connectedMax,
    },
    measuredSec: transport.measuredSec,
    deliveries: transport.deliveries,
    deliveriesPerSec: transport.deliveriesPerSec,
    latencyMs: {
      p50: ms(transport.latencyUs.p50),
      p90: ms(transport.latencyUs.p90),
      p99: ms(transport.latencyUs.p99),
      p999: ms(transport.latencyUs.p999),
      max: ms(transport.latencyUs.max),
    },
    lossRatio: transport.lossRatio,
    lost: transport.lost,
    errorRate: transport.errorRate,
    errors: transport.errors,
    reconnects: transport.reconnects,
    recoveryP99Ms: ms(transport.recoveryUs.p99),
    valid: transport.validity.valid,
    invalidReasons: transport.validity.invalidReasons,
    thresholds: transport.thresholds.map((outcome) => ({
      name: outcome.name,
      expression: outcome.expression ?? null,
      limit: outcome.limit,
      actual: outcome.actual,
      unit: outcome.unit ?? null,
      overSec: outcome.overSec ?? null,
      worstWindowAtSec: outcome.worstWindowAtSec ?? null,
      passed: outcome.passed,
    })),
    failure:
      transport.failure === undefined
        ? null
        : { message: transport.failure.message, code: transport.failure.code ?? null },
  }
}

/**
 * Writes `text` to `path` through a temporary file and a rename, so a CI step never reads half a
 * file (a run killed while writing leaves the old one, or none).
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, path)
}

/** The summary of `result`, as JSON, atomically at `path`. */
export async function writeSummaryJson(path: string, result: RunResult): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(summaryOf(result), null, 2)}\n`)
}
