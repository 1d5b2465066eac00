/**
 * How a run, or a step of a capacity search, is judged: the limits a scenario sets and their
 * outcomes against a transport's result.
 */

import { z } from 'zod'

/** Pass/fail limits; every one optional, absent means "not judged". */
export const thresholdsSchema = z.strictObject({
  /** p99 latency (receipt − scheduled) must be at most this many ms. */
  p99Ms: z.number().positive().max(60_000).optional(),
  /** Lost events / expected events, 0..1. */
  maxLossRatio: z.number().min(0).max(1).optional(),
  /** Errors / (connects + errors), 0..1. */
  maxErrorRate: z.number().min(0).max(1).optional(),
  /** Deliveries per second across all subscribers must be at least this. */
  minDeliveriesPerSec: z.number().min(0).optional(),
})

export type Thresholds = z.output<typeof thresholdsSchema>

type LegacyName = 'p99Ms' | 'maxLossRatio' | 'maxErrorRate' | 'minDeliveriesPerSec'

export interface ThresholdOutcome {
  readonly name: string
  /** The threshold as written (results of schema version 6). */
  readonly expression?: string | undefined
  readonly limit: number
  readonly actual: number
  readonly passed: boolean
}

/**
 * The parts of a transport's result the thresholds read (a `TransportResult` is one; spelled out
 * here so the result schema, which evaluates thresholds, is not imported back).
 */
export interface ThresholdInput {
  readonly latencyUs: { readonly p99: number }
  readonly lossRatio: number
  readonly errorRate: number
  readonly deliveriesPerSec: number
}

/** Each threshold: what it reads from a result, and whether it is a ceiling or a floor. */
const CHECKS: readonly {
  readonly name: LegacyName
  readonly actual: (result: ThresholdInput) => number
  readonly ceiling: boolean
}[] = [
  { name: 'p99Ms', actual: (result) => result.latencyUs.p99 / 1000, ceiling: true },
  { name: 'maxLossRatio', actual: (result) => result.lossRatio, ceiling: true },
  { name: 'maxErrorRate', actual: (result) => result.errorRate, ceiling: true },
  { name: 'minDeliveriesPerSec', actual: (result) => result.deliveriesPerSec, ceiling: false },
]

/** Each threshold that is set, judged against one transport's result (limits are inclusive). */
export function evaluateThresholds(
  thresholds: Readonly<Thresholds>,
  result: ThresholdInput,
): ThresholdOutcome[] {
  const outcomes: ThresholdOutcome[] = []
  for (const check of CHECKS) {
    const limit = thresholds[check.name]
    if (limit === undefined) continue
    const actual = check.actual(result)
    outcomes.push({
      name: check.name,
      limit,
      actual,
      passed: check.ceiling ? actual <= limit : actual >= limit,
    })
  }
  return outcomes
}
