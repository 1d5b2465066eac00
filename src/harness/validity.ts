/**
 * The harness judges itself: is what it measured the server's, or its own saturation? A run the
 * harness could not keep up with is marked invalid, with its reasons, and never passes.
 */

import type { EventLoopDelaySummary } from '../report/measurements.js'
import type { Validity } from '../report/result-schema.js'

export interface ValidityInput {
  /** Harness CPU samples, % of one core, one per second, measurement period only. */
  readonly harnessCpuPercentSamples: readonly number[]
  /** Cores the harness could use. */
  readonly harnessCores: number
  /** Worst worker's event-loop delay over the measurement, or null if not monitored. */
  readonly eventLoopDelay: EventLoopDelaySummary | null
  readonly deliveries: number
  readonly negativeLatencies: number
  readonly clampedLatencies: number
}

export interface ValidityOptions {
  /** Share of the harness's cores counted as saturated. */
  readonly cpuSaturatedRatio: number
  /** Consecutive 1-s samples at or above it that make it sustained. */
  readonly cpuSustainedSamples: number
  /** Event-loop delay p99 bound, µs. */
  readonly maxEventLoopDelayP99Us: number
  /** Share of events that may arrive "before they were scheduled" (clock skew). */
  readonly maxNegativeLatencyRatio: number
}

export const DEFAULT_VALIDITY_OPTIONS: ValidityOptions = Object.freeze({
  cpuSaturatedRatio: 0.9,
  cpuSustainedSamples: 5,
  maxEventLoopDelayP99Us: 50_000,
  maxNegativeLatencyRatio: 0.001,
})

/**
 * Is the measurement the server's, or the harness's? A subscriber stamps receipt when its event
 * loop gets to the bytes, so a busy harness adds its own queueing to every latency it records and
 * would report it as the server's. The run is marked invalid (never silently reported) when:
 * - the harness process used ≥ `cpuSaturatedRatio` (90%) of its cores for `cpuSustainedSamples`
 *   (5) consecutive seconds: it had no headroom left, so receipt stamps were late (k6 asks for
 *   ≥ 20% idle; Artillery v1 warned at 80%; a short spike, e.g. the connect ramp, is allowed);
 * - a worker's event-loop delay p99 exceeded `maxEventLoopDelayP99Us` (50 ms): that delay lands
 *   directly on receipt times (the jHiccup argument) — at that size it dwarfs loopback latency;
 * - more than `maxNegativeLatencyRatio` of events arrived before their scheduled time: the two
 *   clocks disagree, so no latency from this run can be trusted (never clamped to 0);
 * - any latency was above the histogram's range (clamped), so the max and the tail are floors.
 */
export function judgeValidity(
  input: ValidityInput,
  options: Partial<ValidityOptions> = {},
): Validity {
  const opts = { ...DEFAULT_VALIDITY_OPTIONS, ...options }
  const reasons: string[] = []
  const saturatedAt = opts.cpuSaturatedRatio * input.harnessCores * 100
  let run = 0
  let longest = 0
  for (const sample of input.harnessCpuPercentSamples) {
    run = sample >= saturatedAt ? run + 1 : 0
    longest = Math.max(longest, run)
  }
  if (longest >= opts.cpuSustainedSamples) {
    reasons.push(
      `harness CPU was ≥ ${Math.round(opts.cpuSaturatedRatio * 100)}% of its ${input.harnessCores} core(s) for ${longest} s in a row: the harness, not the server, was saturated`,
    )
  }
  if (input.eventLoopDelay && input.eventLoopDelay.p99Us > opts.maxEventLoopDelayP99Us) {
    reasons.push(
      `harness event-loop delay p99 was ${formatMs(input.eventLoopDelay.p99Us)} (bound ${formatMs(opts.maxEventLoopDelayP99Us)}): receipt times were late by the harness's own lag`,
    )
  }
  if (
    input.deliveries > 0 &&
    input.negativeLatencies / input.deliveries > opts.maxNegativeLatencyRatio
  ) {
    reasons.push(
      `${input.negativeLatencies} of ${input.deliveries} events arrived before their scheduled time: the clocks disagree`,
    )
  }
  if (input.clampedLatencies > 0) {
    reasons.push(
      `${input.clampedLatencies} latencies exceeded the histogram's range and were clamped`,
    )
  }
  return { valid: reasons.length === 0, invalidReasons: reasons }
}

function formatMs(us: number): string {
  return `${(us / 1000).toFixed(1)} ms`
}
