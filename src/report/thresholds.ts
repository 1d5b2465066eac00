import type { Thresholds } from '../harness/scenario-schema.js'
import type { TransportResult } from './result-schema.js'

export interface ThresholdOutcome {
  readonly name: 'p99Ms' | 'maxLossRatio' | 'maxErrorRate' | 'minDeliveriesPerSec'
  readonly limit: number
  readonly actual: number
  readonly passed: boolean
}

/** The parts of a transport's result the thresholds read. */
export type ThresholdInput = Pick<
  TransportResult,
  'latencyUs' | 'lossRatio' | 'errorRate' | 'deliveriesPerSec'
>

/** Each threshold that is set, judged against one transport's result (limits are inclusive). */
export function evaluateThresholds(
  thresholds: Readonly<Thresholds>,
  result: ThresholdInput,
): ThresholdOutcome[] {
  const outcomes: ThresholdOutcome[] = []
  if (thresholds.p99Ms !== undefined) {
    const actual = result.latencyUs.p99 / 1000
    outcomes.push({
      name: 'p99Ms',
      limit: thresholds.p99Ms,
      actual,
      passed: actual <= thresholds.p99Ms,
    })
  }
  if (thresholds.maxLossRatio !== undefined) {
    const actual = result.lossRatio
    outcomes.push({
      name: 'maxLossRatio',
      limit: thresholds.maxLossRatio,
      actual,
      passed: actual <= thresholds.maxLossRatio,
    })
  }
  if (thresholds.maxErrorRate !== undefined) {
    const actual = result.errorRate
    outcomes.push({
      name: 'maxErrorRate',
      limit: thresholds.maxErrorRate,
      actual,
      passed: actual <= thresholds.maxErrorRate,
    })
  }
  if (thresholds.minDeliveriesPerSec !== undefined) {
    const actual = result.deliveriesPerSec
    outcomes.push({
      name: 'minDeliveriesPerSec',
      limit: thresholds.minDeliveriesPerSec,
      actual,
      passed: actual >= thresholds.minDeliveriesPerSec,
    })
  }
  return outcomes
}
