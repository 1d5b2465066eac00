import type { DashboardFrame } from '../../src/report/dashboard/frame.js'

/**
 * A dashboard frame of an SSE run `second` seconds in, with plausible figures (measuring from
 * the third second on); `overrides` set what a test looks at.
 */
export function dashboardFrame(
  second: number,
  overrides: Partial<DashboardFrame> = {},
): DashboardFrame {
  return {
    transport: 'sse',
    t: 1_700_000_000_000 + second * 1000,
    elapsedSec: second,
    totalSec: 10,
    measuring: second > 2,
    connected: 100,
    subscribers: 100,
    deliveriesPerSec: 1000 + second,
    last: { p50: 2, p90: 4, p99: 9, max: 12 },
    cumulative: { p50: 2, p90: 4, p99: 9, max: 12 },
    errors: 0,
    reconnects: 0,
    gaps: 0,
    deliveriesTotal: 1000 * second,
    errorsTotal: 0,
    reconnectsTotal: 0,
    harness: { eventLoopP99Ms: 3, cpuPercent: 40 },
    ...overrides,
  }
}
