/**
 * The dashboard's event stream as the page reads it. The server's side is
 * src/report/dashboard/frame.ts and server.ts; this bundle imports nothing from the harness or
 * the report, so the shapes are restated here (as src/web/stream-event.ts restates the ticker's
 * events); test/report/dashboard.test.ts checks with tsc that they match the server's.
 */

export type TransportName = 'sse' | 'longpoll' | 'ws' | 'eventsource' | 'http'

export interface LatencyMs {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** One transport's second. */
export interface DashboardFrame {
  readonly transport: TransportName
  /** Epoch ms. */
  readonly t: number
  readonly elapsedSec: number
  readonly totalSec: number
  readonly measuring: boolean
  readonly connected: number
  readonly subscribers: number
  readonly deliveriesPerSec: number
  /** The last second's latency; null when it had no delivery. */
  readonly last: LatencyMs | null
  /** Since the measurement window began (the session's start before it). */
  readonly cumulative: LatencyMs | null
  readonly errors: number
  readonly reconnects: number
  readonly gaps: number
  readonly deliveriesTotal: number
  readonly errorsTotal: number
  readonly reconnectsTotal: number
  readonly harness: { readonly eventLoopP99Ms: number; readonly cpuPercent: number } | null
}

/** First on every stream (no id): which run this is, so a tab kept across two runs can tell. */
export interface Hello {
  readonly run: string
  readonly scenario: string
  /** The runId result.json will hold (null from a dashboard not started by a run). */
  readonly runId: string | null
  readonly transports: readonly TransportName[]
  readonly finished: boolean
  readonly historyLimit: number
}

export interface Done {
  readonly label: 'PASSED' | 'FAILED' | 'INTERRUPTED'
  readonly passed: boolean
  readonly reasons: readonly string[]
  readonly resultDir: string | null
  /** Where the server serves the run's report.html, or null. */
  readonly report: string | null
}

/** `<run>-<n>` → n; null for anything else. */
export function eventNumber(id: string, run: string | null): number | null {
  const dash = id.lastIndexOf('-')
  if (dash < 0 || (run !== null && id.slice(0, dash) !== run)) return null
  const n = Number(id.slice(dash + 1))
  return Number.isInteger(n) && n > 0 ? n : null
}
