/**
 * A run's verdict in one line, with its reasons: which transport broke which threshold and by
 * how much, which was invalid, where a signal cut the run. The last line a CI log shows should
 * say why a run failed without scrolling up through the tables.
 */

import type { RunResult, TransportResult } from './result-schema.js'
import { describeOutcome, formatSeconds } from './threshold-text.js'

export interface Verdict {
  readonly label: 'PASSED' | 'FAILED' | 'INTERRUPTED'
  /** Why it did not pass, in order: the interruption, then per transport; empty when it passed. */
  readonly reasons: readonly string[]
}

export function verdictOf(result: RunResult): Verdict {
  const reasons: string[] = []
  const interruption = result.interruption
  if (interruption !== undefined) {
    const where =
      interruption.transport === null
        ? `while ${interruption.phase === 'starting' ? 'starting' : interruption.phase}`
        : interruption.phase === 'between transports'
          ? `after the ${interruption.transport} run`
          : `during the ${interruption.transport} ${PHASE_WORDS[interruption.phase]}`
    reasons.push(`${interruption.signal} ${where}`)
    if (interruption.notMeasured.length > 0) {
      reasons.push(`not measured: ${interruption.notMeasured.join(', ')}`)
    }
  }
  const aborted = result.abortedBy
  if (aborted !== undefined) {
    // The threshold that stopped the run first: k6's abortOnFail ends the whole run.
    const measured = new Set<string>(result.transports.map((t) => t.transport))
    const planned = result.scenario.parsed['transports']
    const notMeasured = Array.isArray(planned)
      ? planned.filter((t): t is string => typeof t === 'string' && !measured.has(t))
      : []
    reasons.push(
      `${aborted.transport} ${aborted.threshold} aborted the run after ${formatSeconds(aborted.atSec)} of measurement${notMeasured.length > 0 ? ` (not measured: ${notMeasured.join(', ')})` : ''}`,
    )
  }
  for (const transport of result.transports) reasons.push(...transportReasons(transport))
  for (const capacity of result.capacity ?? []) {
    if (capacity.maxPassingSubscribers === 0) {
      reasons.push(`${capacity.transport} capacity: no step passed`)
    }
  }
  if (result.passed) return { label: 'PASSED', reasons: [] }
  return { label: result.interrupted === true ? 'INTERRUPTED' : 'FAILED', reasons }
}

/** `FAILED: sse latency p(99) < 100ms: 412 ms; ws loss rate == 0: 0.2 %`, or `PASSED`. */
export function formatVerdict(result: RunResult): string {
  const verdict = verdictOf(result)
  return verdict.reasons.length === 0
    ? verdict.label
    : `${verdict.label}: ${verdict.reasons.join('; ')}`
}

const PHASE_WORDS = {
  starting: 'start',
  ramp: 'ramp',
  'warm-up': 'warm-up',
  measuring: 'measurement',
  'between transports': 'run',
} as const

/** Why a transport's run fails: none when it passed (runPassed asks this, so the two agree). */
export function transportReasons(transport: TransportResult): string[] {
  const reasons: string[] = []
  if (transport.failure !== undefined) {
    return [`${transport.transport} failed: ${transport.failure.message.split('\n')[0]}`]
  }
  if (!transport.validity.valid) {
    reasons.push(`${transport.transport} invalid (the harness, not the server, was measured)`)
  }
  if (transport.deliveries === 0) reasons.push(`${transport.transport} delivered nothing`)
  // Watch-list changes asked for and none acknowledged: the option did nothing measurable (too
  // short a window for `everySec`, or a server that never answered a change).
  if (
    transport.arrivals?.watchListChanges !== undefined &&
    (transport.watchListChanges?.acknowledgedUs.count ?? 0) === 0
  ) {
    reasons.push(
      `${transport.transport} made ${transport.watchListChanges?.changes ?? 0} watch-list changes and none was acknowledged: give the window more than arrivalRate.watchListChanges.everySec, or check that the target takes a change`,
    )
  }
  for (const outcome of transport.thresholds) {
    if (!outcome.passed) reasons.push(`${transport.transport} ${describeOutcome(outcome)}`)
  }
  return reasons
}
